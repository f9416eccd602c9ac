package filter

import "golang.org/x/net/bpf"

// A node is the compiled form of an expression before code generation: a
// tree of and, or, not, constants and atoms. The parser expands every
// primitive ("tcp port 443") into such a tree for the link type at hand.
type node interface{ isNode() }

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ x node }
type constNode bool

// loadKind says where an atom's value comes from.
type loadKind int

const (
	ldAbs    loadKind = iota // packet bytes at a fixed offset
	ldIPv4L4                 // packet bytes at an offset past the IPv4 header: off + 4*(IHL at ihl)
	ldExt                    // a Linux ancillary value (SKF_AD_*), socket filters only
)

// load is one load into the accumulator.
type load struct {
	kind loadKind
	off  uint32 // ldAbs, ldIPv4L4
	size int    // 1, 2 or 4 bytes
	ihl  uint32 // ldIPv4L4: offset of the IPv4 header
	ext  bpf.Extension
}

// atom is one test: load, optionally mask, compare.
type atom struct {
	ld   load
	mask uint32       // ANDed with the value when not 0
	cond bpf.JumpTest // JumpEqual, JumpGreaterThan, JumpGreaterOrEqual or JumpBitsSet
	val  uint32
}

func (*andNode) isNode()  {}
func (*orNode) isNode()   {}
func (*notNode) isNode()  {}
func (constNode) isNode() {}
func (*atom) isNode()     {}

var (
	always node = constNode(true)
	never  node = constNode(false)
)

// and is l && r, folding constants.
func and(l, r node) node {
	switch {
	case l == never || r == never:
		return never
	case l == always:
		return r
	case r == always:
		return l
	}
	return &andNode{l, r}
}

// or is l || r, folding constants.
func or(l, r node) node {
	switch {
	case l == always || r == always:
		return always
	case l == never:
		return r
	case r == never:
		return l
	}
	return &orNode{l, r}
}

// not is !x, folding constants.
func not(x node) node {
	switch x {
	case always:
		return never
	case never:
		return always
	}
	return &notNode{x}
}

// anyOf is the disjunction of the nodes, never for none.
func anyOf(ns ...node) node {
	r := never
	for _, n := range ns {
		r = or(r, n)
	}
	return r
}

// allOf is the conjunction of the nodes, always for none.
func allOf(ns ...node) node {
	r := always
	for _, n := range ns {
		r = and(r, n)
	}
	return r
}

// abs is a fixed-offset load of size bytes.
func abs(off uint32, size int) load { return load{kind: ldAbs, off: off, size: size} }

// ext is an ancillary load.
func ext(e bpf.Extension) load { return load{kind: ldExt, ext: e, size: 4} }

// eq is ld == v.
func eq(ld load, v uint32) node { return &atom{ld: ld, cond: bpf.JumpEqual, val: v} }

// maskEq is ld & mask == v.
func maskEq(ld load, mask, v uint32) node {
	if mask == 0xffffffff || ld.size == 1 && mask == 0xff || ld.size == 2 && mask == 0xffff {
		return eq(ld, v)
	}
	return &atom{ld: ld, mask: mask, cond: bpf.JumpEqual, val: v}
}

// ge is ld >= v.
func ge(ld load, v uint32) node { return &atom{ld: ld, cond: bpf.JumpGreaterOrEqual, val: v} }

// gt is ld > v.
func gt(ld load, v uint32) node { return &atom{ld: ld, cond: bpf.JumpGreaterThan, val: v} }

// bitsSet is ld & v != 0.
func bitsSet(ld load, v uint32) node { return &atom{ld: ld, cond: bpf.JumpBitsSet, val: v} }
