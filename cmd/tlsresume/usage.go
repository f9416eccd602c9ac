package main

import (
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// boolValue is a bool flag shown in --help without pflag's "[=true|false]".
type boolValue bool

func (b *boolValue) Set(s string) error {
	v, err := strconv.ParseBool(s)
	*b = boolValue(v)
	return err
}
func (b *boolValue) String() string { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) Type() string   { return "bool" }

// boolFlag defines a bool flag that takes no value.
func boolFlag(fs *pflag.FlagSet, p *bool, name, short, usage string) {
	fs.VarPF((*boolValue)(p), name, short, usage).NoOptDefVal = "true"
}

// flagColumn is where flag descriptions start in --help.
const flagColumn = 30

// flagUsages lists the flags within width columns: the flag, then its
// description from column flagColumn (on the next line when the flag is
// longer), wrapped, with its default when it has one worth showing.
func flagUsages(fs *pflag.FlagSet, width int) string {
	var b strings.Builder
	fs.VisitAll(func(f *pflag.Flag) {
		name, usage := pflag.UnquoteUsage(f)
		line := "      --" + f.Name
		if f.Shorthand != "" {
			line = "  -" + f.Shorthand + ", --" + f.Name
		}
		if name != "" {
			line += " " + name
		}
		switch f.DefValue {
		case "", "0", "0s", "false", "[]":
		default:
			if !strings.Contains(usage, "default") {
				usage += " (default " + f.DefValue + ")"
			}
		}
		if len(line) >= flagColumn-1 {
			b.WriteString(line + "\n")
			line = ""
		}
		line += strings.Repeat(" ", flagColumn-len(line))
		n := len(line)
		for i, w := range strings.Fields(usage) {
			if i > 0 && n+1+len(w) > width {
				b.WriteString(strings.TrimRight(line, " ") + "\n")
				line, n = strings.Repeat(" ", flagColumn), flagColumn
			} else if i > 0 {
				line += " "
				n++
			}
			line += w
			n += len(w)
		}
		b.WriteString(line + "\n")
	})
	return b.String()
}
