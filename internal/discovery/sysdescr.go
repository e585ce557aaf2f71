package discovery

import (
	"regexp"
	"strings"
)

// Identity is what a device says about itself in the SNMPv2-MIB system group.
type Identity struct {
	SysObjectID string // numeric, without a leading dot
	SysDescr    string
	SysName     string
}

// Platform is what classification derives from an Identity. Empty fields
// are unknown.
type Platform struct {
	Vendor    string // cisco, juniper, arista, net-snmp, ...
	Model     string // C3750, ASR1000, mx480, DCS-7050SX-64, x86_64
	OS        string // IOS, IOS-XE, NX-OS, IOS-XR, Junos, EOS, Linux
	OSVersion string
	// Type is the resource_type given to a resource its source left at the
	// default type: the vendor, or linux for a net-snmp Linux host.
	Type string
}

// enterprises maps an SMI enterprise number (1.3.6.1.4.1.<n>) to a vendor.
var enterprises = map[string]string{
	"9": "cisco", "2636": "juniper", "30065": "arista", "8072": "net-snmp", "2011": "huawei",
	"11": "hp", "25506": "h3c", "47196": "hpe-aruba", "14823": "aruba", "6527": "nokia", "12356": "fortinet",
	"25461": "paloalto", "14988": "mikrotik", "674": "dell", "6027": "dell-force10", "1991": "brocade",
	"1588": "brocade", "3375": "f5", "4526": "netgear", "311": "microsoft", "2620": "checkpoint",
	"1916": "extreme", "4874": "juniper-erx", "3076": "cisco-vpn", "5951": "citrix", "8741": "sonicwall",
	"41112": "ubiquiti", "4413": "broadcom", "40310": "cumulus", "12325": "bsd-pf", "2021": "ucd-snmp",
}

// ciscoModels names a few common Cisco sysObjectIDs whose sysDescr does not
// carry a usable model.
var ciscoModels = map[string]string{
	"1.3.6.1.4.1.9.1.516": "catalyst37xxStack", "1.3.6.1.4.1.9.1.1208": "cat29xxStack",
	"1.3.6.1.4.1.9.1.1745": "cat38xxstack", "1.3.6.1.4.1.9.1.2494": "cat9300",
}

var (
	reCiscoImage   = regexp.MustCompile(`([A-Za-z0-9_-]+) Software \(([A-Za-z0-9_]+)-`)
	reCiscoVersion = regexp.MustCompile(`Version ([0-9][0-9A-Za-z.()_:-]*)`)
	reNXOSPlatform = regexp.MustCompile(`(?i)NX-OS(?:\(tm\))? ([a-z0-9]+),`)
	reJunos        = regexp.MustCompile(`(?i)Juniper Networks, Inc\. (\S+).*?JUNOS ([0-9][0-9A-Za-z.\-]*)`)
	reEOS          = regexp.MustCompile(`Arista Networks EOS version (\S+) running on an Arista Networks (\S+)`)
	reLinux        = regexp.MustCompile(`^Linux (\S+) (\S+) .*?(\S+)$`)
)

// ClassifyIdentity derives vendor, model and OS from an identity: the
// vendor from the sysObjectID's enterprise number, the rest from sysDescr
// for Cisco IOS, IOS-XE, NX-OS, IOS-XR, Junos, Arista EOS and Linux
// (net-snmp).
func ClassifyIdentity(id Identity) Platform {
	var p Platform
	oid := strings.TrimPrefix(id.SysObjectID, ".")
	if rest, ok := strings.CutPrefix(oid, "1.3.6.1.4.1."); ok {
		ent, _, _ := strings.Cut(rest, ".")
		p.Vendor = enterprises[ent]
	}
	d := strings.Join(strings.Fields(id.SysDescr), " ") // one line, single spaces
	switch {
	case strings.Contains(d, "Cisco") || p.Vendor == "cisco":
		p.Vendor = "cisco"
		classifyCisco(d, oid, &p)
	case reJunos.MatchString(d):
		m := reJunos.FindStringSubmatch(d)
		p.Vendor, p.OS, p.Model, p.OSVersion = "juniper", "Junos", m[1], m[2]
	case reEOS.MatchString(d):
		m := reEOS.FindStringSubmatch(d)
		p.Vendor, p.OS, p.OSVersion, p.Model = "arista", "EOS", m[1], m[2]
	case strings.HasPrefix(d, "Linux "):
		if p.Vendor == "" {
			p.Vendor = "net-snmp"
		}
		p.OS = "Linux"
		if m := reLinux.FindStringSubmatch(d); m != nil {
			p.OSVersion, p.Model = m[2], m[3]
		}
		p.Type = "linux"
	}
	if p.Type == "" {
		p.Type = p.Vendor
	}
	return p
}

// notCiscoModel are words found before "Software" that are not a platform.
var notCiscoModel = map[string]bool{"IOS": true, "IOS-XE": true, "XE": true, "NX-OS": true, "SWITCH": true, "L3": true, "ROUTER": true}

func classifyCisco(d, oid string, p *Platform) {
	switch {
	case strings.Contains(d, "NX-OS"):
		p.OS = "NX-OS"
		if m := reNXOSPlatform.FindStringSubmatch(d); m != nil {
			p.Model = m[1]
		}
	case strings.Contains(d, "IOS XR") || strings.Contains(d, "IOS-XR"):
		p.OS = "IOS-XR"
	case strings.Contains(d, "IOS-XE") || strings.Contains(d, "IOSXE") || strings.Contains(d, "LINUX_IOSD"):
		p.OS = "IOS-XE"
	case strings.Contains(d, "IOS"):
		p.OS = "IOS"
	}
	// "C3750 Software (C3750-IPSERVICESK9-M)": the platform before
	// "Software", else the image's prefix ("Switch Software (cat4500e-...").
	if m := reCiscoImage.FindStringSubmatch(d); m != nil && p.Model == "" {
		switch {
		case !notCiscoModel[strings.ToUpper(m[1])]:
			p.Model = m[1]
		case !strings.Contains(strings.ToUpper(m[2]), "LINUX"):
			p.Model = m[2]
		}
	}
	if p.Model == "" {
		p.Model = ciscoModels[oid]
	}
	if m := reCiscoVersion.FindStringSubmatch(d); m != nil {
		p.OSVersion = strings.TrimRight(m[1], ",")
	}
	// IOS-XE 16 and later say "Cisco IOS Software [Codename]" without XE.
	if p.OS == "IOS" && strings.Contains(d, "IOS Software [") {
		p.OS = "IOS-XE"
	}
}
