package filter

import "strings"

// tokKind is the kind of a token of a filter expression.
type tokKind int

const (
	tEOF    tokKind = iota
	tWord           // keyword, number, address, CIDR, port range, name
	tLParen         // (
	tRParen         // )
	tNot            // !
	tAnd            // &&
	tOr             // ||
	tArith          // any operator of the arithmetic syntax: [ ] & | + * / % ^ < > = != - <<
	tOther          // a character that has no place in the syntax
)

type token struct {
	kind tokKind
	text string
}

// wordByte reports whether c can be part of a word: the characters of
// keywords, numbers, IPv4 and IPv6 addresses, CIDR prefixes and port ranges.
func wordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == ':' || c == '/' || c == '-' || c == '_'
}

// lex splits a filter expression into tokens. It never fails: characters
// that have no place in the syntax become tOther tokens for the parser to
// report.
func lex(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case wordByte(c) && c != '-' && c != '/':
			j := i
			for j < len(s) && wordByte(s[j]) {
				j++
			}
			toks = append(toks, token{tWord, s[i:j]})
			i = j
		case c == '(':
			toks = append(toks, token{tLParen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")"})
			i++
		case strings.HasPrefix(s[i:], "&&"):
			toks = append(toks, token{tAnd, "&&"})
			i += 2
		case strings.HasPrefix(s[i:], "||"):
			toks = append(toks, token{tOr, "||"})
			i += 2
		case strings.HasPrefix(s[i:], "!="):
			toks = append(toks, token{tArith, "!="})
			i += 2
		case c == '!':
			toks = append(toks, token{tNot, "!"})
			i++
		case strings.IndexByte("[]&|+-*/%^<>=", c) >= 0:
			toks = append(toks, token{tArith, s[i : i+1]})
			i++
		default:
			toks = append(toks, token{tOther, s[i : i+1]})
			i++
		}
	}
	return append(toks, token{tEOF, ""})
}
