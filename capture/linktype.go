package capture

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// SupportedLinkType reports whether flows decodes packets of link type lt.
// The numbers are LINKTYPE_ values (https://www.tcpdump.org/linktypes.html).
func SupportedLinkType(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, // 1
		layers.LinkTypeNull, // 0: BSD loopback, host byte order family
		layers.LinkTypeLoop, // 108: OpenBSD loopback, network byte order family
		layers.LinkTypeRaw,  // 101
		12, 14,              // raw IP as DLT_RAW on OpenBSD (12) and BSD/OS (14), seen in files
		layers.LinkTypeIPv4,      // 228
		layers.LinkTypeIPv6,      // 229
		layers.LinkTypeLinuxSLL,  // 113
		layers.LinkTypeLinuxSLL2, // 276
		layers.LinkTypePPP:       // 9: PPP in HDLC-like framing or bare (RFC 1661, 1662)
		return true
	}
	return false
}

// supportedHint lists the supported link types for a person.
const supportedHint = "supported link types: ETHERNET (1), NULL (0), LOOP (108), RAW (101, 12, 14), " +
	"IPV4 (228), IPV6 (229), LINUX_SLL (113), LINUX_SLL2 (276), PPP (9); " +
	"capture again on an Ethernet interface, or with tcpdump -i any"

// linkTypeNames are LINKTYPE_ names without the prefix, for messages.
var linkTypeNames = map[uint32]string{
	0:   "NULL",
	1:   "ETHERNET",
	3:   "AX25",
	6:   "IEEE802_5",
	7:   "ARCNET_BSD",
	8:   "SLIP",
	9:   "PPP",
	10:  "FDDI",
	12:  "RAW",
	14:  "RAW",
	50:  "PPP_HDLC",
	51:  "PPP_ETHER",
	100: "ATM_RFC1483",
	101: "RAW",
	104: "C_HDLC",
	105: "IEEE802_11",
	107: "FRELAY",
	108: "LOOP",
	113: "LINUX_SLL",
	114: "LTALK",
	117: "PFLOG",
	119: "IEEE802_11_PRISM",
	122: "IP_OVER_FC",
	123: "SUNATM",
	127: "IEEE802_11_RADIOTAP",
	129: "ARCNET_LINUX",
	163: "IEEE802_11_AVS",
	187: "BLUETOOTH_HCI_H4",
	189: "USB_LINUX",
	192: "PPI",
	195: "IEEE802_15_4_WITHFCS",
	197: "ERF",
	201: "BLUETOOTH_HCI_H4_WITH_PHDR",
	220: "USB_LINUX_MMAPPED",
	228: "IPV4",
	229: "IPV6",
	239: "NFLOG",
	249: "USBPCAP",
	253: "NETLINK",
	276: "LINUX_SLL2",
}

// linkTypeString is "147 (USER0)", or the bare number for a link type
// without a name here.
func linkTypeString(lt uint32) string {
	if name, ok := linkTypeNames[lt]; ok {
		return fmt.Sprintf("%d (%s)", lt, name)
	}
	if lt >= 147 && lt <= 162 {
		return fmt.Sprintf("%d (USER%d)", lt, lt-147)
	}
	return fmt.Sprintf("%d", lt)
}
