package filter

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"
)

// maxDepth bounds the nesting of parentheses and negations.
const maxDepth = 64

// Keywords of the tcpdump syntax (pcap-filter(7)) that the pure-Go compiler
// does not implement. An expression that uses one is valid for libpcap.
var unsupportedWords = map[string]bool{
	"ether": true, "fddi": true, "tr": true, "wlan": true, "link": true, "ppp": true, "slip": true,
	"gateway": true, "broadcast": true, "multicast": true, "less": true, "greater": true, "len": true,
	"inbound": true, "outbound": true, "ifname": true, "on": true, "rnr": true, "rulenum": true,
	"reason": true, "rset": true, "ruleset": true, "srnr": true, "subrulenum": true, "action": true,
	"mpls": true, "pppoed": true, "pppoes": true, "geneve": true, "iso": true, "esis": true,
	"es-is": true, "isis": true, "is-is": true, "clnp": true, "stp": true, "ipx": true, "netbeui": true,
	"atalk": true, "aarp": true, "decnet": true, "lat": true, "sca": true, "moprc": true, "mopdl": true,
	"igmp": true, "igrp": true, "pim": true, "vrrp": true, "carp": true, "ah": true, "esp": true,
	"radio": true, "llc": true, "type": true, "subtype": true, "dir": true, "addr1": true,
	"addr2": true, "addr3": true, "addr4": true, "ra": true, "ta": true, "protochain": true,
	"l1": true, "l2": true, "iih": true, "lsp": true, "snp": true, "csnp": true, "psnp": true,
}

// Protocol names accepted before a direction or type, or alone.
var protoWords = map[string]bool{
	"ip": true, "ip6": true, "arp": true, "rarp": true,
	"tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true,
}

// IP protocol numbers.
const (
	protoICMP     = 1
	protoTCP      = 6
	protoUDP      = 17
	protoIPv6Frag = 44
	protoICMPv6   = 58
	protoSCTP     = 132
)

// Well-known service names for "port NAME", as in /etc/services. Other
// names need the libpcap build, which asks the system.
var services = map[string]uint16{
	"ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80, "www": 80,
	"pop3": 110, "imap": 143, "imap2": 143, "ldap": 389, "https": 443, "submissions": 465,
	"submission": 587, "ldaps": 636, "ftps": 990, "imaps": 993, "pop3s": 995,
	"xmpp-client": 5222, "xmpp-server": 5269, "postgresql": 5432,
}

// dir is a direction qualifier.
type dir int

const (
	dirAny dir = iota // "src or dst", the default
	dirSrc
	dirDst
	dirBoth // "src and dst"
)

// qual is the qualifiers of a primitive: "tcp src port".
type qual struct {
	proto string // "" or one of protoWords
	dir   dir
	typ   string // "host", "net", "port", "portrange" or "proto"
}

// errKind says which of the three messages an *Error has.
type errKind int

const (
	errSyntax errKind = iota
	errValue
	errUnsupported
)

type parser struct {
	expr  string
	toks  []token
	pos   int
	l     link
	depth int
	last  qual // qualifiers of the last primitive with a value, for "port 80 or 443"
	has   bool // last is set
}

// parse compiles expr for the link into a node tree.
func parse(expr string, l link) (node, error) {
	p := &parser{expr: expr, toks: lex(expr), l: l}
	for _, t := range p.toks {
		switch t.kind {
		case tArith:
			return nil, p.unsupported("arithmetic and byte offsets need the libpcap build: go build -tags libpcap")
		case tOther:
			if t.text == `\` {
				return nil, p.unsupported(`escaped names (\tcp) need the libpcap build: go build -tags libpcap`)
			}
			return nil, p.syntax("unexpected %q", t.text)
		}
	}
	if p.peek().kind == tEOF {
		return always, nil
	}
	n, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); t.kind {
	case tEOF:
		return n, nil
	case tRParen:
		return nil, p.syntax("unbalanced %q", ")")
	default:
		return nil, p.syntax("unexpected %q", t.text)
	}
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(i int) token {
	if p.pos+i < len(p.toks) {
		return p.toks[p.pos+i]
	}
	return token{kind: tEOF}
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

// isWord reports whether t is the word w.
func isWord(t token, w string) bool { return t.kind == tWord && t.text == w }

func (p *parser) syntax(format string, args ...any) error {
	return &Error{Expr: p.expr, Msg: fmt.Sprintf(format, args...), kind: errSyntax}
}

func (p *parser) value(format string, args ...any) error {
	return &Error{Expr: p.expr, Msg: fmt.Sprintf(format, args...), kind: errValue}
}

func (p *parser) unsupported(msg string) error {
	return &Error{Expr: p.expr, Msg: msg, kind: errUnsupported, Err: ErrUnsupported}
}

// parseExpr reads terms joined by and and or. As in libpcap, both have the
// same precedence and associate to the left: "a or b and c" is
// "(a or b) and c".
func (p *parser) parseExpr() (node, error) {
	n, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		var isAnd bool
		switch {
		case t.kind == tAnd || isWord(t, "and"):
			isAnd = true
		case t.kind == tOr || isWord(t, "or"):
		default:
			return n, nil
		}
		p.next()
		r, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		if isAnd {
			n = and(n, r)
		} else {
			n = or(n, r)
		}
	}
}

// parseTerm reads a negation, a parenthesised expression or a primitive.
func (p *parser) parseTerm() (node, error) {
	if p.depth >= maxDepth {
		return nil, p.syntax("nested too deeply")
	}
	t := p.peek()
	switch {
	case t.kind == tNot || isWord(t, "not"):
		p.next()
		p.depth++
		x, err := p.parseTerm()
		p.depth--
		if err != nil {
			return nil, err
		}
		return not(x), nil
	case t.kind == tLParen:
		p.next()
		p.depth++
		n, err := p.parseExpr()
		p.depth--
		if err != nil {
			return nil, err
		}
		if p.peek().kind != tRParen {
			return nil, p.syntax("missing %q", ")")
		}
		p.next()
		return n, nil
	case t.kind == tWord:
		return p.parsePrimitive()
	case t.kind == tEOF:
		if p.pos == 0 {
			return nil, p.syntax("empty expression")
		}
		return nil, p.syntax("expression ends after %q", p.toks[p.pos-1].text)
	}
	return nil, p.syntax("unexpected %q", t.text)
}

// parsePrimitive reads "[proto] [dir] [type] value", a protocol alone,
// "vlan [id]", or a bare value that takes the qualifiers of the primitive
// before it ("tcp port 443 or 8443").
func (p *parser) parsePrimitive() (node, error) {
	var q qual
	w := p.peek().text
	switch {
	case w == "vlan":
		return p.parseVLAN()
	case unsupportedWords[w]:
		return nil, p.unsupported(fmt.Sprintf("%q needs the libpcap build: go build -tags libpcap", w))
	case w == "and" || w == "or" || w == "mask":
		return nil, p.syntax("unexpected %q", w)
	}
	qualified := false
	if protoWords[w] {
		q.proto = w
		p.next()
		qualified = true
	}
	hasDir := false
	if t := p.peek(); isWord(t, "src") || isWord(t, "dst") {
		q.dir = p.parseDir()
		qualified, hasDir = true, true
	}
	switch t := p.peek(); {
	case isWord(t, "host"), isWord(t, "net"), isWord(t, "port"), isWord(t, "portrange"), isWord(t, "proto"):
		q.typ = t.text
		p.next()
	case q.proto != "" && !hasDir:
		// A protocol alone: "tcp".
		return p.protoAlone(q.proto), nil
	case qualified:
		q.typ = "host"
	case !p.has:
		return nil, p.syntax("unexpected %q", w)
	default:
		// A bare value: "... or 8443".
		q = p.last
	}
	v := p.peek()
	if v.kind != tWord || isWord(v, "and") || isWord(v, "or") || isWord(v, "not") {
		return nil, p.syntax("%q needs a value", q.typ)
	}
	p.next()
	p.last, p.has = q, true
	switch q.typ {
	case "host":
		return p.host(q, v.text)
	case "net":
		return p.net(q, v.text)
	case "port":
		port, err := p.port(v.text)
		if err != nil {
			return nil, err
		}
		return p.ports(q, port, port)
	case "portrange":
		lo, hi, ok := strings.Cut(v.text, "-")
		if !ok {
			return nil, p.value("port range %q is not LOW-HIGH", v.text)
		}
		a, err := p.port(lo)
		if err != nil {
			return nil, err
		}
		b, err := p.port(hi)
		if err != nil {
			return nil, err
		}
		return p.ports(q, min(a, b), max(a, b))
	default: // "proto"
		n, err := p.number(v.text, 255, "protocol number")
		if err != nil {
			return nil, err
		}
		switch q.proto {
		case "":
			return p.ipProto(true, true, uint8(n)), nil
		case "ip":
			return p.ipProto(true, false, uint8(n)), nil
		case "ip6":
			return p.ipProto(false, true, uint8(n)), nil
		}
		return nil, p.value("illegal qualifier of 'proto'")
	}
}

// parseDir reads src, dst, "src or dst", "src and dst" (and the same with
// dst first).
func (p *parser) parseDir() dir {
	first := p.next().text
	d := dirSrc
	if first == "dst" {
		d = dirDst
	}
	other := "dst"
	if first == "dst" {
		other = "src"
	}
	if c := p.peek(); (isWord(c, "or") || c.kind == tOr || isWord(c, "and") || c.kind == tAnd) && isWord(p.peekAt(1), other) {
		p.next()
		p.next()
		if isWord(c, "or") || c.kind == tOr {
			return dirAny
		}
		return dirBoth
	}
	return d
}

// parseVLAN reads "vlan [id]". After it, on a capture file, every later
// primitive looks 4 bytes further (libpcap does the same). A Linux socket
// sees packets with the tag removed and the tag in ancillary data.
func (p *parser) parseVLAN() (node, error) {
	p.next()
	id := -1
	if t := p.peek(); t.kind == tWord && t.text[0] >= '0' && t.text[0] <= '9' {
		p.next()
		n, err := p.number(t.text, 4095, "VLAN id")
		if err != nil {
			return nil, err
		}
		id = int(n)
	}
	switch {
	case p.l.socket:
		n := eq(ext(bpf.ExtVLANTagPresent), 1)
		if id >= 0 {
			n = and(n, maskEq(ext(bpf.ExtVLANTag), 0xfff, uint32(id)))
		}
		return n, nil
	case p.l.ether:
		off := p.l.typeOff
		n := anyOf(eq(abs(off, 2), 0x8100), eq(abs(off, 2), 0x88a8), eq(abs(off, 2), 0x9100))
		if id >= 0 {
			n = and(n, maskEq(abs(off+2, 2), 0xfff, uint32(id)))
		}
		p.l.typeOff += 4
		p.l.nl += 4
		return n, nil
	}
	return nil, p.value("\"vlan\" needs Ethernet, not %s", p.l.name)
}

// protoAlone is a protocol name used as a primitive: "tcp", "ip6".
func (p *parser) protoAlone(name string) node {
	switch name {
	case "ip":
		return p.l.proto(etherIPv4)
	case "ip6":
		return p.l.proto(etherIPv6)
	case "arp":
		return p.l.proto(etherARP)
	case "rarp":
		return p.l.proto(etherRARP)
	case "tcp":
		return p.ipProto(true, true, protoTCP)
	case "udp":
		return p.ipProto(true, true, protoUDP)
	case "sctp":
		return p.ipProto(true, true, protoSCTP)
	case "icmp":
		return p.ipProto(true, false, protoICMP)
	default: // icmp6
		return p.ipProto(false, true, protoICMPv6)
	}
}

// ipProto is "ip proto n" and/or "ip6 proto n". For IPv6, as libpcap does,
// it also matches a fragment header followed by n; no other extension
// header is walked.
func (p *parser) ipProto(v4, v6 bool, n uint8) node {
	r := never
	if v4 {
		r = or(r, and(p.l.proto(etherIPv4), eq(abs(p.l.nl+9, 1), uint32(n))))
	}
	if v6 {
		next := abs(p.l.nl+6, 1)
		r = or(r, and(p.l.proto(etherIPv6),
			or(eq(next, uint32(n)), and(eq(next, protoIPv6Frag), eq(abs(p.l.nl+40, 1), uint32(n))))))
	}
	return r
}

// ports is "[tcp|udp|sctp] [dir] portrange lo-hi" (port when lo == hi).
// IPv4 fragments other than the first never match, as in libpcap; IPv6 is
// matched when the transport header follows the fixed header directly.
func (p *parser) ports(q qual, lo, hi uint16) (node, error) {
	var protos []uint32
	switch q.proto {
	case "":
		protos = []uint32{protoSCTP, protoTCP, protoUDP}
	case "tcp":
		protos = []uint32{protoTCP}
	case "udp":
		protos = []uint32{protoUDP}
	case "sctp":
		protos = []uint32{protoSCTP}
	default:
		return nil, p.value("illegal qualifier of '%s'", q.typ)
	}
	nl := p.l.nl
	test := func(ld load) node {
		if lo == hi {
			return eq(ld, uint32(lo))
		}
		return and(ge(ld, uint32(lo)), not(gt(ld, uint32(hi))))
	}
	isProto := func(at uint32) node {
		n := never
		for _, pr := range protos {
			n = or(n, eq(abs(at, 1), pr))
		}
		return n
	}
	l4 := func(off uint32) load { return load{kind: ldIPv4L4, off: nl + off, ihl: nl, size: 2} }
	v4 := allOf(p.l.proto(etherIPv4), isProto(nl+9), not(bitsSet(abs(nl+6, 2), 0x1fff)),
		direction(q.dir, test(l4(0)), test(l4(2))))
	v6 := allOf(p.l.proto(etherIPv6), isProto(nl+6),
		direction(q.dir, test(abs(nl+40, 2)), test(abs(nl+42, 2))))
	return or(v6, v4), nil
}

// direction combines the source and destination tests.
func direction(d dir, src, dst node) node {
	switch d {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return and(src, dst)
	}
	return or(src, dst)
}

// ipNet is an address and mask: a host has all mask bits set.
type ipNet struct {
	v6         bool
	addr, mask [16]byte // IPv4 in the first 4 bytes
}

// host is "[ip|ip6|arp|rarp] [dir] host ADDR".
func (p *parser) host(q qual, s string) (node, error) {
	if strings.Contains(s, "/") {
		return nil, p.value("mask syntax for networks only (%q)", s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return nil, p.badAddr(s)
	}
	a = a.Unmap()
	var n ipNet
	n.v6 = a.Is6()
	n.addr = a.As16()
	if !n.v6 {
		v4 := a.As4()
		n.addr = [16]byte{}
		copy(n.addr[:], v4[:])
	}
	for i := range n.mask {
		n.mask[i] = 0xff
	}
	return p.hostNet(q, n)
}

// badAddr is the error for a value that is not an address.
func (p *parser) badAddr(s string) error {
	if strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) >= 0 && !strings.Contains(s, ":") {
		return p.unsupported("host names are not looked up: give an address, or use the libpcap build: go build -tags libpcap")
	}
	return p.value("%q is not an IP address", s)
}

// net is "[ip|ip6|arp|rarp] [dir] net NET": CIDR, an abbreviated IPv4
// network ("10", "192.168"), or "ADDR mask MASK".
func (p *parser) net(q qual, s string) (node, error) {
	var n ipNet
	addr, bits, hasBits := strings.Cut(s, "/")
	if strings.Contains(addr, ":") {
		a, err := netip.ParseAddr(addr)
		if err != nil || a.Zone() != "" {
			return nil, p.value("%q is not an IP address", addr)
		}
		n.v6 = true
		n.addr = a.As16()
		b := 128
		if hasBits {
			if b, err = p.intIn(bits, 128, "prefix length"); err != nil {
				return nil, err
			}
		}
		setMask(n.mask[:], b)
	} else {
		parts := strings.Split(addr, ".")
		if len(parts) > 4 {
			return nil, p.badAddr(addr)
		}
		for i, part := range parts {
			v, err := strconv.ParseUint(part, 10, 8)
			if err != nil {
				return nil, p.badAddr(addr)
			}
			n.addr[i] = byte(v)
		}
		b := 8 * len(parts)
		if hasBits {
			var err error
			if b, err = p.intIn(bits, 32, "prefix length"); err != nil {
				return nil, err
			}
		} else if isWord(p.peek(), "mask") {
			p.next()
			m := p.next()
			ma, err := netip.ParseAddr(m.text)
			if m.kind != tWord || err != nil || !ma.Is4() {
				return nil, p.value("mask %q is not an IPv4 address", m.text)
			}
			m4 := ma.As4()
			copy(n.mask[:], m4[:])
			b = -1
		}
		if b >= 0 {
			setMask(n.mask[:4], b)
		}
	}
	for i := range n.addr {
		if n.addr[i]&^n.mask[i] != 0 {
			return nil, p.value("non-network bits set in %q", s)
		}
	}
	return p.hostNet(q, n)
}

// setMask sets the first bits bits of m.
func setMask(m []byte, bits int) {
	for i := range m {
		switch {
		case bits >= 8:
			m[i] = 0xff
		case bits > 0:
			m[i] = byte(0xff << (8 - bits))
		default:
			m[i] = 0
		}
		bits -= 8
	}
}

// hostNet is the test for an address or network with its qualifiers.
func (p *parser) hostNet(q qual, n ipNet) (node, error) {
	switch q.proto {
	case "", "ip", "ip6", "arp", "rarp":
	default:
		return nil, p.value("'%s' modifier applied to %s", q.proto, q.typ)
	}
	nl := p.l.nl
	if n.v6 {
		if q.proto != "" && q.proto != "ip6" {
			return nil, p.value("'%s' modifier applied to ip6 %s", q.proto, q.typ)
		}
		match := func(at uint32) node {
			r := always
			for i := uint32(0); i < 4; i++ {
				m := binary.BigEndian.Uint32(n.mask[4*i:])
				if m != 0 {
					r = and(r, maskEq(abs(at+4*i, 4), m, binary.BigEndian.Uint32(n.addr[4*i:])))
				}
			}
			return r
		}
		return and(p.l.proto(etherIPv6), direction(q.dir, match(nl+8), match(nl+24))), nil
	}
	if q.proto == "ip6" {
		return nil, p.value("'ip6' modifier applied to ip %s", q.typ)
	}
	m := binary.BigEndian.Uint32(n.mask[:])
	a := binary.BigEndian.Uint32(n.addr[:])
	match := func(at uint32) node {
		if m == 0 {
			return always
		}
		return maskEq(abs(at, 4), m, a)
	}
	var r node = never
	if q.proto == "" || q.proto == "ip" {
		r = or(r, and(p.l.proto(etherIPv4), direction(q.dir, match(nl+12), match(nl+16))))
	}
	// ARP and RARP over Ethernet: sender protocol address at 14, target at 24.
	if q.proto == "" || q.proto == "arp" {
		r = or(r, and(p.l.proto(etherARP), direction(q.dir, match(nl+14), match(nl+24))))
	}
	if q.proto == "" || q.proto == "rarp" {
		r = or(r, and(p.l.proto(etherRARP), direction(q.dir, match(nl+14), match(nl+24))))
	}
	return r, nil
}

// port reads a port number or a well-known service name.
func (p *parser) port(s string) (uint16, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		n, err := p.number(s, 65535, "port")
		return uint16(n), err
	}
	if v, ok := services[s]; ok {
		return v, nil
	}
	if s == "" || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return 0, p.value("port %q is not a number", s)
	}
	return 0, p.unsupported(fmt.Sprintf("service name %q is not known here: give the number, or use the libpcap build: go build -tags libpcap", s))
}

// number reads an unsigned number in decimal, hex (0x) or octal (0), as
// libpcap does, not above max.
func (p *parser) number(s string, max uint64, what string) (uint64, error) {
	if strings.ContainsAny(s, "_") {
		return 0, p.value("%s %q is not a number", what, s)
	}
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, p.value("%s %q is not a number", what, s)
	}
	if v > max {
		return 0, p.value("%s %d out of range (0-%d)", what, v, max)
	}
	return v, nil
}

// intIn reads a decimal number from 0 to max.
func (p *parser) intIn(s string, max int, what string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > max {
		return 0, p.value("%s %q out of range (0-%d)", what, s, max)
	}
	return v, nil
}
