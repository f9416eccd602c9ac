package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// maxInstructions is the kernel's limit on a classic BPF program
// (BPF_MAXINSNS).
const maxInstructions = 4096

// opKind is the kind of an instruction before layout.
type opKind int

const (
	opInsn  opKind = iota // a plain instruction
	opCond                // a conditional jump to labels t and f
	opJump                // an unconditional jump to label t
	opLabel               // a position that jumps refer to
)

type op struct {
	kind  opKind
	insn  bpf.Instruction // opInsn
	cond  bpf.JumpTest    // opCond: JumpEqual, JumpGreaterThan, JumpGreaterOrEqual or JumpBitsSet
	val   uint32          // opCond
	t, f  int             // opCond, opJump (t); opLabel (t is the label)
	label int
}

// Labels of the two returns.
const (
	labelAccept = iota
	labelReject
	firstLabel
)

type gen struct {
	ops    []op
	labels int
}

func (g *gen) newLabel() int {
	g.labels++
	return g.labels - 1
}

func (g *gen) place(l int) { g.ops = append(g.ops, op{kind: opLabel, label: l}) }

func (g *gen) emit(i bpf.Instruction) { g.ops = append(g.ops, op{kind: opInsn, insn: i}) }

func (g *gen) jump(t int) { g.ops = append(g.ops, op{kind: opJump, t: t}) }

// node emits code that continues at label t when n holds and at f when not.
func (g *gen) node(n node, t, f int) {
	switch n := n.(type) {
	case constNode:
		if n {
			g.jump(t)
		} else {
			g.jump(f)
		}
	case *andNode:
		mid := g.newLabel()
		g.node(n.l, mid, f)
		g.place(mid)
		g.node(n.r, t, f)
	case *orNode:
		mid := g.newLabel()
		g.node(n.l, t, mid)
		g.place(mid)
		g.node(n.r, t, f)
	case *notNode:
		g.node(n.x, f, t)
	case *atom:
		switch n.ld.kind {
		case ldAbs:
			g.emit(bpf.LoadAbsolute{Off: n.ld.off, Size: n.ld.size})
		case ldIPv4L4:
			g.emit(bpf.LoadMemShift{Off: n.ld.ihl})
			g.emit(bpf.LoadIndirect{Off: n.ld.off, Size: n.ld.size})
		case ldExt:
			g.emit(bpf.LoadExtension{Num: n.ld.ext})
		}
		if n.mask != 0 {
			g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: n.mask})
		}
		if t == f {
			g.jump(t)
			return
		}
		g.ops = append(g.ops, op{kind: opCond, cond: n.cond, val: n.val, t: t, f: f})
	default:
		panic(fmt.Sprintf("filter: unknown node %T", n))
	}
}

// generate turns a node tree into a program that returns snaplen for a
// packet that matches and 0 for one that does not.
func generate(n node, snaplen uint32) ([]bpf.Instruction, error) {
	g := &gen{labels: firstLabel}
	g.node(n, labelAccept, labelReject)
	g.place(labelAccept)
	g.emit(bpf.RetConstant{Val: snaplen})
	g.place(labelReject)
	g.emit(bpf.RetConstant{Val: 0})
	return g.layout()
}

// layout resolves labels into jump offsets. Jumps to the next instruction
// are dropped; a conditional jump farther than 255 instructions goes
// through an unconditional jump placed right after it.
func (g *gen) layout() ([]bpf.Instruction, error) {
	pos := make([]int, g.labels)
	for {
		n := 0
		for _, o := range g.ops {
			if o.kind == opLabel {
				pos[o.label] = n
			} else {
				n++
			}
		}
		if n > maxInstructions {
			return nil, fmt.Errorf("program of %d instructions is longer than the kernel's limit of %d", n, maxInstructions)
		}
		changed := false
		out := g.ops[:0:0]
		at := 0
		for _, o := range g.ops {
			switch o.kind {
			case opLabel:
				out = append(out, o)
				continue
			case opJump:
				if pos[o.t] == at+1 {
					changed = true
					at++ // keep positions of the ops after it as computed
					continue
				}
			case opCond:
				var extra []op
				if pos[o.t]-at-1 > 255 {
					l := g.newLabel()
					pos = append(pos, 0)
					extra = append(extra, op{kind: opLabel, label: l}, op{kind: opJump, t: o.t})
					o.t = l
				}
				if pos[o.f]-at-1 > 255 {
					l := g.newLabel()
					pos = append(pos, 0)
					extra = append(extra, op{kind: opLabel, label: l}, op{kind: opJump, t: o.f})
					o.f = l
				}
				if extra != nil {
					out = append(out, o)
					out = append(out, extra...)
					changed = true
					at++
					continue
				}
			}
			out = append(out, o)
			at++
		}
		g.ops = out
		if !changed {
			break
		}
	}
	prog := make([]bpf.Instruction, 0, len(g.ops))
	at := 0
	for _, o := range g.ops {
		switch o.kind {
		case opLabel:
			continue
		case opInsn:
			prog = append(prog, o.insn)
		case opJump:
			prog = append(prog, bpf.Jump{Skip: uint32(pos[o.t] - at - 1)})
		case opCond:
			prog = append(prog, bpf.JumpIf{Cond: o.cond, Val: o.val,
				SkipTrue: uint8(pos[o.t] - at - 1), SkipFalse: uint8(pos[o.f] - at - 1)})
		}
		at++
	}
	return prog, nil
}
