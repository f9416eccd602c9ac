package main

import (
	"fmt"
	"strings"
)

// writeFindings prints the "Findings" section: one paragraph per
// finding, its server, its message wrapped to the report's width, and
// the settings it points to.
func writeFindings(b *strings.Builder, s *summary) {
	if len(s.Findings) == 0 {
		return
	}
	b.WriteString("\nFindings\n")
	for i, f := range s.Findings {
		if i > 0 {
			b.WriteString("\n")
		}
		sni := f.SNI
		if sni == "" {
			sni = "(no SNI)"
		}
		fmt.Fprintf(b, "  %s\n", clip(f.Kind.String()+"  "+f.Server.String()+"  "+sni, textWidth-2))
		for _, l := range wrap(f.Message, textWidth-4) {
			fmt.Fprintf(b, "    %s\n", l)
		}
		for _, l := range wrap("look at: "+strings.Join(f.Settings, "; "), textWidth-4) {
			fmt.Fprintf(b, "    %s\n", l)
		}
	}
}

// wrap breaks text into lines of at most n columns at spaces; a word
// longer than n is clipped.
func wrap(text string, n int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= n:
			line += " " + w
		default:
			out = append(out, clip(line, n))
			line = w
		}
	}
	if line != "" {
		out = append(out, clip(line, n))
	}
	return out
}
