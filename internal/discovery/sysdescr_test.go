package discovery

import "testing"

func TestClassifyIdentity(t *testing.T) {
	cases := []struct {
		name string
		id   Identity
		want Platform
	}{
		{"ios", Identity{SysObjectID: "1.3.6.1.4.1.9.1.516", SysDescr: "Cisco IOS Software, C3750 Software (C3750-IPSERVICESK9-M), Version 12.2(55)SE10, RELEASE SOFTWARE (fc2)\r\nTechnical Support: http://www.cisco.com/techsupport"},
			Platform{Vendor: "cisco", Model: "C3750", OS: "IOS", OSVersion: "12.2(55)SE10", Type: "cisco"}},
		{"ios-xe 16+", Identity{SysObjectID: ".1.3.6.1.4.1.9.1.1165", SysDescr: "Cisco IOS Software [Amsterdam], ASR1000 Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.3.4a, RELEASE SOFTWARE (fc3)"},
			Platform{Vendor: "cisco", Model: "ASR1000", OS: "IOS-XE", OSVersion: "17.3.4a", Type: "cisco"}},
		{"ios-xe 3", Identity{SysObjectID: "1.3.6.1.4.1.9.1.1208", SysDescr: "Cisco IOS Software, IOS-XE Software, Catalyst 4500 L3 Switch Software (cat4500e-UNIVERSALK9-M), Version 03.06.06.E RELEASE SOFTWARE (fc1)"},
			Platform{Vendor: "cisco", Model: "cat4500e", OS: "IOS-XE", OSVersion: "03.06.06.E", Type: "cisco"}},
		{"nx-os", Identity{SysObjectID: "1.3.6.1.4.1.9.12.3.1.3.1812", SysDescr: "Cisco NX-OS(tm) n9000, Software (n9000-dk9), Version 9.3(5), RELEASE SOFTWARE Copyright (c) 2002-2020 by Cisco Systems, Inc."},
			Platform{Vendor: "cisco", Model: "n9000", OS: "NX-OS", OSVersion: "9.3(5)", Type: "cisco"}},
		{"junos", Identity{SysObjectID: "1.3.6.1.4.1.2636.1.1.1.2.25", SysDescr: "Juniper Networks, Inc. mx480 internet router, kernel JUNOS 15.1R7.9, Build date: 2018-06-28 12:07:34 UTC Copyright (c) 1996-2018 Juniper Networks, Inc."},
			Platform{Vendor: "juniper", Model: "mx480", OS: "Junos", OSVersion: "15.1R7.9", Type: "juniper"}},
		{"eos", Identity{SysObjectID: "1.3.6.1.4.1.30065.1.3011.7050.3741.64", SysDescr: "Arista Networks EOS version 4.22.1F running on an Arista Networks DCS-7050SX-64"},
			Platform{Vendor: "arista", Model: "DCS-7050SX-64", OS: "EOS", OSVersion: "4.22.1F", Type: "arista"}},
		{"linux", Identity{SysObjectID: "1.3.6.1.4.1.8072.3.2.10", SysDescr: "Linux web1 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29) x86_64"},
			Platform{Vendor: "net-snmp", Model: "x86_64", OS: "Linux", OSVersion: "6.1.0-13-amd64", Type: "linux"}},
		{"unknown", Identity{SysObjectID: "1.3.6.1.4.1.99999.1", SysDescr: "Toaster 3000"}, Platform{}},
		{"vendor only", Identity{SysObjectID: "1.3.6.1.4.1.12356.101.1.3", SysDescr: "FortiGate"}, Platform{Vendor: "fortinet", Type: "fortinet"}},
	}
	for _, c := range cases {
		if got := ClassifyIdentity(c.id); got != c.want {
			t.Errorf("%s: got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}
