package lldp

import "testing"

func TestRenderChassisID(t *testing.T) {
	for _, tc := range []struct {
		subtype int
		id      []byte
		want    string
	}{
		{4, []byte{0x00, 0x1e, 0xf6, 0x0a, 0xbb, 0x01}, "00:1e:f6:0a:bb:01"},
		{4, []byte{0x00, 0x1e, 0xf6, 0x0a, 0xbb}, "001ef60abb"},                // a MAC of 5 octets: hex, not a MAC
		{4, []byte("aa:bb:cc:dd:ee:ff"), "61613a62623a63633a64643a65653a6666"}, // text where 6 octets belong
		{5, []byte{1, 10, 0, 0, 1}, "10.0.0.1"},
		{5, []byte{2, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "2001:db8::1"},
		{5, []byte{1, 10, 0, 0}, "010a0000"}, // truncated IPv4
		{5, []byte{9, 10, 0, 0, 1}, "090a000001"},
		{7, []byte("core1.example.net"), "core1.example.net"},
		{7, []byte("sw1\x00\x00"), "sw1"},
		{1, []byte{0xff, 0x01, 0x02}, "ff0102"}, // not text
		{6, []byte("eth0"), "eth0"},
	} {
		if got := renderChassisID(tc.subtype, tc.id); got != tc.want {
			t.Errorf("renderChassisID(%d, % x) = %q, want %q", tc.subtype, tc.id, got, tc.want)
		}
	}
}

func TestPortName(t *testing.T) {
	for _, tc := range []struct {
		subtype int
		id      string
		desc    string
		want    string
	}{
		{5, "Gi1/0/49", "GigabitEthernet1/0/49", "Gi1/0/49"},     // Cisco: interface name
		{7, "523", "xe-0/0/3", "xe-0/0/3"},                       // Junos: ifIndex, name in the description
		{3, "\x02\x00\x00\x00\x01\x02", "veth1", "veth1"},        // lldpd: MAC, name in the description
		{3, "\x02\x00\x00\x00\x01\x02", "", "02:00:00:00:01:02"}, // nothing better than the MAC
		{7, "", "", "port 9"},
	} {
		if got := portName(tc.subtype, []byte(tc.id), tc.desc, 9); got != tc.want {
			t.Errorf("portName(%d, %q, %q) = %q, want %q", tc.subtype, tc.id, tc.desc, got, tc.want)
		}
	}
}

func TestCapabilities(t *testing.T) {
	if got := capabilities([]byte{0x28, 0x00}); got != "MAC_BRIDGE,ROUTER" {
		t.Errorf("bridge+router: %q", got)
	}
	if got := capabilities([]byte{0x24}); got != "MAC_BRIDGE,TELEPHONE" {
		t.Errorf("bridge+telephone: %q", got)
	}
	if got := capabilities(nil); got != "" {
		t.Errorf("none: %q", got)
	}
	if got := cdpCapabilities([]byte{0, 0, 0, 0x29}); got != "MAC_BRIDGE,ROUTER" {
		t.Errorf("CDP router+switch+igmp: %q", got)
	}
	if got := cdpCapabilities([]byte{0, 0, 0x01, 0x90}); got != "TELEPHONE,STATION_ONLY" {
		t.Errorf("CDP phone: %q", got)
	}
	if got := cdpCapabilities([]byte{1, 2}); got != "" {
		t.Errorf("CDP capabilities of 2 octets: %q", got)
	}
}

func TestCDPDeviceName(t *testing.T) {
	for in, want := range map[string]string{
		"sw1.example.net":           "sw1.example.net",
		"sw1(FOC1234X0AB)":          "sw1",
		"SEP001B54000000":           "SEP001B54000000",
		"(weird)":                   "(weird)",
		"core1.example.net(SSI123)": "core1.example.net",
	} {
		if got := cdpDeviceName(in); got != want {
			t.Errorf("cdpDeviceName(%q) = %q, want %q", in, got, want)
		}
	}
}
