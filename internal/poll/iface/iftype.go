package iface

import "strconv"

// ifTypeNames are the IANAifType-MIB names of the interface types met on
// network devices and servers (the media_type dimension). A type missing
// here is reported as its number, e.g. "300".
var ifTypeNames = map[uint64]string{
	1:   "other",
	6:   "ethernetCsmacd",
	7:   "iso88023Csmacd",
	9:   "iso88025TokenRing",
	15:  "fddi",
	18:  "ds1",
	19:  "e1",
	20:  "basicISDN",
	21:  "primaryISDN",
	22:  "propPointToPointSerial",
	23:  "ppp",
	24:  "softwareLoopback",
	28:  "slip",
	30:  "ds3",
	32:  "frameRelay",
	33:  "rs232",
	37:  "atm",
	39:  "sonet",
	44:  "frameRelayService",
	45:  "v35",
	46:  "hssi",
	49:  "aal5",
	50:  "sonetPath",
	51:  "sonetVT",
	53:  "propVirtual",
	54:  "propMultiplexor",
	56:  "fibreChannel",
	62:  "fastEther",
	63:  "isdn",
	69:  "fastEtherFX",
	71:  "ieee80211",
	77:  "lapd",
	81:  "ds0",
	94:  "adsl",
	97:  "vdsl",
	104: "voiceOverIp",
	108: "pppMultilinkBundle",
	117: "gigabitEthernet",
	118: "hdlc",
	131: "tunnel",
	134: "atmSubInterface",
	135: "l2vlan",
	136: "l3ipvlan",
	142: "ipForward",
	150: "mplsTunnel",
	161: "ieee8023adLag",
	166: "mpls",
	171: "pos",
	195: "opticalChannel",
	196: "opticalTransport",
	209: "bridge",
	215: "sixToFour",
	224: "fcipLink",
	238: "adsl2plus",
	251: "vdsl2",
}

// ifTypeName returns the IANA name of an ifType value, or its number.
func ifTypeName(t uint64) string {
	if n, ok := ifTypeNames[t]; ok {
		return n
	}
	return strconv.FormatUint(t, 10)
}

// portSpeed formats a speed in bits/s for the port_speed dimension: the
// largest decimal unit (bps, Kbps, Mbps, Gbps, Tbps) that leaves a whole
// part of at least 1, with up to three decimals and no trailing zeros:
// 10000000 → "10Mbps", 1000000000 → "1Gbps", 2500000000 → "2.5Gbps",
// 1544000 → "1.544Mbps", 0 → "0bps". Integer arithmetic keeps it exact.
func portSpeed(bps uint64) string {
	units := [...]string{"bps", "Kbps", "Mbps", "Gbps", "Tbps"}
	u, div := 0, uint64(1)
	for u < len(units)-1 && bps/(div*1000) >= 1 {
		u, div = u+1, div*1000
	}
	b := strconv.AppendUint(make([]byte, 0, 12), bps/div, 10)
	if div > 1 {
		frac := bps % div * 1000 / div // three decimals, truncated
		if frac > 0 {
			b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
			for b[len(b)-1] == '0' {
				b = b[:len(b)-1]
			}
		}
	}
	return string(append(b, units[u]...))
}
