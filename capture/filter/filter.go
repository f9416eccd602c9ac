package filter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// DefaultSnaplen is what a matching packet's program returns when Compile
// is given a snaplen of 0: tcpdump's default and maximum.
const DefaultSnaplen = 262144

// ErrUnsupported is wrapped by the error for an expression that is valid
// tcpdump syntax but beyond the pure-Go compiler. The libpcap build
// (go build -tags libpcap) compiles it.
var ErrUnsupported = errors.New("needs the libpcap build")

// Error is the error for an expression that does not compile. Its message is
// one line and quotes the whole expression.
type Error struct {
	// Expr is the expression as given.
	Expr string
	// Msg says what is wrong, without the expression.
	Msg string
	// Err is ErrUnsupported for an expression that the libpcap build
	// compiles, else nil.
	Err  error
	kind errKind
}

func (e *Error) Error() string {
	switch e.kind {
	case errSyntax:
		return fmt.Sprintf("filter: syntax error in %q: %s", e.Expr, e.Msg)
	case errUnsupported:
		return fmt.Sprintf("filter: cannot compile %q in pure Go (%s)", e.Expr, e.Msg)
	}
	return fmt.Sprintf("filter: %q: %s", e.Expr, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Filter is a compiled filter expression for one link type. It is safe for
// concurrent use.
type Filter struct {
	expr    string
	lt      layers.LinkType
	prog    []bpf.Instruction
	raw     []bpf.RawInstruction
	vm      *bpf.VM
	matcher nativeMatcher // libpcap's bpf_filter in the libpcap build, else nil
}

// nativeMatcher runs a program outside Go (libpcap's interpreter).
type nativeMatcher interface {
	Matches(ci gopacket.CaptureInfo, data []byte) bool
}

// CompileGo compiles expr with the pure-Go compiler, whatever the build, for
// packets of link type lt. A packet that matches makes the program return
// snaplen (DefaultSnaplen when 0), one that does not 0. An empty
// expression matches every packet. Errors are *Error.
func CompileGo(expr string, lt layers.LinkType, snaplen int) (*Filter, error) {
	l, err := linkFor(lt)
	if err != nil {
		return nil, &Error{Expr: expr, Msg: err.Error(), kind: errValue}
	}
	prog, err := compile(expr, l, snaplen)
	if err != nil {
		return nil, err
	}
	return newFilter(expr, lt, prog)
}

// compile parses and generates a program for the link.
func compile(expr string, l link, snaplen int) ([]bpf.Instruction, error) {
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	n, err := parse(expr, l)
	if err != nil {
		return nil, err
	}
	prog, err := generate(n, uint32(snaplen))
	if err != nil {
		return nil, &Error{Expr: expr, Msg: err.Error(), kind: errValue}
	}
	return prog, nil
}

// newFilter assembles prog and prepares its VM.
func newFilter(expr string, lt layers.LinkType, prog []bpf.Instruction) (*Filter, error) {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, &Error{Expr: expr, Msg: "assemble: " + err.Error(), kind: errValue}
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return nil, &Error{Expr: expr, Msg: "bpf vm: " + err.Error(), kind: errValue}
	}
	return &Filter{expr: strings.TrimSpace(expr), lt: lt, prog: prog, raw: raw, vm: vm}, nil
}

// Matches reports whether the packet, starting at its link-layer header,
// matches. Loads past the end of data do not match, as in the kernel and
// in libpcap. It does not allocate.
func (f *Filter) Matches(ci gopacket.CaptureInfo, data []byte) bool {
	if f.matcher != nil {
		return f.matcher.Matches(ci, data)
	}
	n, err := f.vm.Run(data)
	return err == nil && n > 0
}

// String is the expression.
func (f *Filter) String() string { return f.expr }

// LinkType is the link type the filter was compiled for.
func (f *Filter) LinkType() layers.LinkType { return f.lt }

// RawInstructions is the assembled program, for SO_ATTACH_FILTER or
// comparison with tcpdump -ddd. The caller must not modify it.
func (f *Filter) RawInstructions() []bpf.RawInstruction { return f.raw }

// Instructions is the program. The caller must not modify it.
func (f *Filter) Instructions() []bpf.Instruction { return f.prog }
