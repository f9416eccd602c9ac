package main

// The --report HTML file. The charts are SVG written here by hand, not
// with gonum.org/v1/plot: each is a few polylines or rectangles and two
// axes, about 150 lines in all, where plot would bring its dependency
// tree (fonts, image codecs) and an SVG that embeds its own styles and
// glyphs. The file is self-contained: inline CSS, inline SVG, no script,
// no URL.

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tlsresume/tlsresume/sessions"
	"github.com/tlsresume/tlsresume/verdict"
)

//go:embed report/report.html.tmpl
var reportTemplate string

// reportServers is how many of the busiest servers the charts draw (the
// table shows serverRows).
const reportServers = 5

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 760, 230
	padL, padR     = 52, 16
	padT, padB     = 14, 40
)

// palette colours the series: the total first, then the servers.
var palette = []string{"#222222", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}

type reportData struct {
	Sum      *summary
	Rate     string
	Span     string
	Servers  []reportRow
	More     int
	RateSVG  template.HTML
	Refused  template.HTML
	Ages     []ageView
	Findings []findingView
	HasFind  bool
	Trees    []treeView
}

type reportRow struct {
	Name, SNI, Rate, Median, Max, Hint string
	Conns, Full, Resumed, Unknown      int
	Rejected, SID, Ticket, PSK         int
}

type ageView struct {
	Name string
	SVG  template.HTML
}

type findingView struct {
	Kind, Server string
	Fields       []string
}

type treeView struct {
	ID, Head, Server string
	Lines            []string
	More             int
}

// writeReport writes the HTML report of the summary, the sessions' bounded
// aggregates (timelines, age histograms) and the largest sessions.
func writeReport(path string, s *summary, ss *sessions.Sessions, largest []*sessions.Session) error {
	t, err := template.New("report").Parse(reportTemplate)
	if err != nil {
		return err
	}
	d, err := reportOf(s, ss, largest)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return pathErr(err)
	}
	if err := t.Execute(f, d); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func serverName(r *sessions.ServerRow) (string, string) {
	if r.Server == nil {
		return "(other servers)", ""
	}
	sni := "(no SNI)"
	if *r.SNI != "" {
		sni = *r.SNI
	}
	return r.Server.String(), sni
}

func reportOf(s *summary, ss *sessions.Sessions, largest []*sessions.Session) (*reportData, error) {
	d := &reportData{Sum: s, Rate: percent(s.ResumptionRate)}
	total, width := ss.Timeline()
	if len(total) > 0 {
		end := total[len(total)-1].Start.Add(width)
		d.Span = fmt.Sprintf("%s to %s UTC, %d buckets of %v", total[0].Start.UTC().Format("2006-01-02 15:04:05.000"),
			end.UTC().Format("15:04:05.000"), len(total), width)
	}
	for i, r := range s.Servers {
		if i == serverRows {
			d.More = len(s.Servers) - serverRows
			break
		}
		name, sni := serverName(r)
		row := reportRow{Name: name, SNI: sni, Rate: percent(r.ResumptionRate), Median: age(r.MedianResumeAge), Max: age(r.MaxResumeAge),
			Hint: "-", Conns: r.Conns, Full: r.Full, Resumed: r.Resumed, Unknown: r.Unknown, Rejected: r.Rejected,
			SID: r.ByMethod[verdict.BySessionID], Ticket: r.ByMethod[verdict.ByTicket], PSK: r.ByMethod[verdict.ByPSK]}
		if h, ok := r.LifetimeHint(); ok {
			row.Hint = age(ptr(float64(h)))
		}
		d.Servers = append(d.Servers, row)
	}

	// The busiest servers, the row of the rest included, with their
	// timelines on the grid of the total.
	var lines []series
	lines = append(lines, series{"all servers", total})
	for _, r := range s.Servers[:min(len(s.Servers), reportServers)] {
		name, sni := serverName(r)
		if sni != "" {
			name += " " + sni
		}
		lines = append(lines, series{name, r.Timeline()})
	}
	d.RateSVG = rateChart(lines, width)
	d.Refused = refusedChart(lines, width)
	for _, r := range s.Servers {
		if len(d.Ages) == reportServers {
			break
		}
		if r.Ages().Len() == 0 {
			continue
		}
		name, sni := serverName(r)
		h, _ := r.LifetimeHint()
		d.Ages = append(d.Ages, ageView{Name: name + " " + sni, SVG: ageChart(r.Ages().Buckets(), float64(h))})
	}

	// FINDINGS: fed from the summary's `findings` list when the summary
	// has one (issue 14 part 1). Each finding shows its kind, its server
	// and its other fields; nothing is computed here.
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var withFindings struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(b, &withFindings); err != nil {
		return nil, err
	}
	if withFindings.Findings != nil {
		d.HasFind = true
		for _, f := range withFindings.Findings {
			d.Findings = append(d.Findings, findingOf(f))
		}
	}

	for _, x := range largest {
		if sessionSize(x) < 2 {
			break
		}
		d.Trees = append(d.Trees, treeOf(x))
	}
	return d, nil
}

func findingOf(f map[string]any) findingView {
	v := findingView{Kind: fmt.Sprint(f["kind"])}
	if srv, ok := f["server"]; ok {
		b, _ := json.Marshal(srv)
		v.Server = string(b)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range f {
			if k != "kind" && k != "server" && !yield(k) {
				return
			}
		}
	}) {
		b, _ := json.Marshal(f[k])
		v.Fields = append(v.Fields, k+": "+string(b))
	}
	return v
}

func treeOf(x *sessions.Session) treeView {
	sni := x.SNI
	if sni == "" {
		sni = "(no SNI)"
	}
	t := treeView{ID: x.ID, Server: x.Server.String() + "  " + sni,
		Head: fmt.Sprintf("%s, %s, %s", plural(sessionSize(x), "conn", "conns"), plural(x.Resumptions, "resumption", "resumptions"),
			plural(x.Rejected, "refused", "refused"))}
	members := slices.Clone(x.Members)
	slices.SortStableFunc(members, func(a, b sessions.Member) int { return a.TS.Compare(b.TS) })
	for _, c := range members {
		what := c.Handshake.String()
		switch {
		case c.Resumption == verdict.BySessionID:
			what += " by session ID"
		case c.Resumption != verdict.NoMethod:
			what += " by " + c.Resumption.String()
		case c.Rejected:
			what += " (offer refused)"
		}
		t.Lines = append(t.Lines, fmt.Sprintf("#%d  %s  %s  %s", c.ID, offset(c.TS.Sub(x.FirstTS.Time)), what, c.Client))
	}
	t.More = sessionSize(x) - len(members)
	return t
}

// series is one line of a time chart.
type series struct {
	name    string
	buckets []sessions.Bucket
}

// svg builds one chart.
type svg struct{ b strings.Builder }

func (s *svg) f(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// text writes escaped text at x, y.
func (s *svg) text(x, y float64, anchor, class, t string) {
	s.f(`<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">%s</text>`, x, y, anchor, class, html.EscapeString(t))
}

// open starts a chart of the standard size, extra units taller (for a
// legend under it).
func (s *svg) open(label string, extra int) {
	s.f(`<svg viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH+extra, html.EscapeString(label))
}

// anchor keeps a tick label inside the chart: the first starts at its
// tick, the last ends at it.
func anchor(i, n int) string {
	switch i {
	case 0:
		return "start"
	case n - 1:
		return "end"
	}
	return "middle"
}

func (s *svg) html() template.HTML {
	s.f(`</svg>`)
	return template.HTML(s.b.String()) // every text in it went through html.EscapeString
}

// plot area
const (
	plotW = chartW - padL - padR
	plotH = chartH - padT - padB
)

// timeAxis draws the x axis of a time chart: the first bucket's start, the
// middle and the end, as offsets from the start.
func (s *svg) timeAxis(n int, width time.Duration) {
	s.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, padL, padT+plotH, padL+plotW, padT+plotH)
	for j, i := range []int{0, n / 2, n} {
		x := float64(padL) + float64(plotW)*float64(i)/float64(max(n, 1))
		s.text(x, padT+plotH+16, anchor(j, 3), "tick", "+"+(time.Duration(i)*width).String())
	}
	s.text(padL+plotW/2, chartH-4, "middle", "label", "capture time since the first ClientHello")
}

// legendHeight is the room the legend of n series takes under a chart.
func legendHeight(n int) int { return 14 * ((n + 2) / 3) }

// legend writes the series' names under the chart, three a row.
func (s *svg) legend(lines []series) {
	for i, l := range lines {
		x := float64(padL + (i%3)*240)
		y := float64(chartH + 10 + (i/3)*14)
		s.f(`<rect x="%.1f" y="%.1f" width="10" height="3" fill="%s"/>`, x, y-4, palette[i%len(palette)])
		s.text(x+14, y, "start", "legend", clip(l.name, 34))
	}
}

// rateChart draws the resumption rate per bucket: a line per series,
// broken where a bucket has no full or resumed connection, a dot on each
// point so that a lone bucket shows.
func rateChart(lines []series, width time.Duration) template.HTML {
	var s svg
	s.open("resumption rate over time", legendHeight(len(lines)))
	n := len(lines[0].buckets)
	for _, p := range []float64{0, 0.25, 0.5, 0.75, 1} {
		y := padT + plotH*(1-p)
		s.f(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>`, padL, y, padL+plotW, y)
		s.text(padL-6, y+4, "end", "tick", fmt.Sprintf("%.0f%%", 100*p))
	}
	s.timeAxis(n, width)
	for i, l := range lines {
		color := palette[i%len(palette)]
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				s.f(`<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, color, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for j, b := range l.buckets {
			r, ok := b.Rate()
			if !ok {
				flush()
				continue
			}
			x := float64(padL) + float64(plotW)*(float64(j)+0.5)/float64(max(n, 1))
			y := padT + plotH*(1-r)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			s.f(`<circle cx="%.1f" cy="%.1f" r="2.2" fill="%s"><title>%s: %.1f%% of %d</title></circle>`, x, y, color,
				html.EscapeString(l.name), 100*r, b.Full+b.Resumed)
		}
		flush()
	}
	s.legend(lines)
	return s.html()
}

// refusedChart draws the refused offers per bucket of all servers as bars:
// a restart or a ticket-key change shows as a spike.
func refusedChart(lines []series, width time.Duration) template.HTML {
	var s svg
	s.open("refused offers over time", 0)
	total := lines[0].buckets
	n := len(total)
	top := 1
	for _, b := range total {
		top = max(top, b.Rejected)
	}
	for _, v := range []int{0, top / 2, top} {
		y := padT + plotH*(1-float64(v)/float64(top))
		s.f(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>`, padL, y, padL+plotW, y)
		s.text(padL-6, y+4, "end", "tick", fmt.Sprint(v))
	}
	s.timeAxis(n, width)
	bw := float64(plotW) / float64(max(n, 1))
	for j, b := range total {
		if b.Rejected == 0 {
			continue
		}
		h := plotH * float64(b.Rejected) / float64(top)
		s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#d62728"><title>+%v: %d refused of %d</title></rect>`,
			float64(padL)+float64(j)*bw+bw*0.1, padT+plotH-h, bw*0.8, h, time.Duration(j)*width, b.Rejected, b.Conns)
	}
	return s.html()
}

// ageChart draws a server's resumption ages by octave (a bar per doubling
// of age) on a log axis, with the lifetime hint as a line.
func ageChart(buckets []sessions.AgeBucket, hint float64) template.HTML {
	// Octave k holds ages from 2^k ms to 2^(k+1) ms; k = -1 is under 1 ms.
	counts := map[int]int{}
	lo, hi := math.MaxInt, math.MinInt
	for _, b := range buckets {
		k := -1
		if b.Lo > 0 {
			k = int(math.Floor(math.Log2(math.Sqrt(b.Lo*b.Hi) * 1000)))
		}
		counts[k] += b.Count
		lo, hi = min(lo, k), max(hi, k)
	}
	if hint > 0 {
		k := int(math.Floor(math.Log2(hint * 1000)))
		lo, hi = min(lo, k), max(hi, k)
	}
	var s svg
	s.open("resumption age against the lifetime hint", 0)
	top := 1
	for _, c := range counts {
		top = max(top, c)
	}
	n := hi - lo + 1
	bw := float64(plotW) / float64(n)
	s.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, padL, padT+plotH, padL+plotW, padT+plotH)
	for _, v := range []int{0, top} {
		y := padT + plotH*(1-float64(v)/float64(top))
		s.text(padL-6, y+4, "end", "tick", fmt.Sprint(v))
	}
	keys := make([]int, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	step := max(1, n/8)
	for k := lo; k <= hi+1; k += step {
		x := float64(padL) + float64(k-lo)*bw
		a := "middle"
		if k+step > hi+1 {
			a = "end"
		}
		s.text(x, padT+plotH+16, a, "tick", octave(k))
	}
	for _, k := range keys {
		h := plotH * float64(counts[k]) / float64(top)
		s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#1f77b4"><title>%s to %s: %d</title></rect>`,
			float64(padL)+float64(k-lo)*bw+bw*0.08, padT+plotH-h, bw*0.84, h, octave(k), octave(k+1), counts[k])
	}
	if hint > 0 {
		x := float64(padL) + (math.Log2(hint*1000)-float64(lo))*bw
		s.f(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="hint"/>`, x, padT, x, padT+plotH)
		if x > padL+plotW*2/3 {
			s.text(x-4, padT+12, "end", "legend", "lifetime hint "+age(&hint))
		} else {
			s.text(x+4, padT+12, "start", "legend", "lifetime hint "+age(&hint))
		}
	}
	s.text(padL+plotW/2, chartH-4, "middle", "label", "age since the full handshake (log scale, one bar per doubling)")
	return s.html()
}

// octave is the lower bound of octave k as a short duration.
func octave(k int) string {
	if k < 0 {
		return "0"
	}
	d := time.Duration(math.Exp2(float64(k)) * float64(time.Millisecond))
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}
