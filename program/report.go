package program

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/oceankit/oceankit/ocean/report"
)

// WriteReport writes a resync's report as a table, one row per resource
// and a total: items fetched, dropped by the selector (filtered) or by a
// mapping error (misconfigured), entities upserted, left alone because
// Port held them unchanged, refused by Port (failed), and stale entities
// deleted, with each kind's time. Every item fetched lands in one column.
func WriteReport(w io.Writer, rep *report.Resync) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tfetched\tfiltered\tmisconfigured\tupserted\tunchanged\tfailed\tdeleted\ttime\t")
	var total report.Kind
	for _, k := range rep.Kinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", k.Kind, k.Fetched, k.Filtered, k.Misconfigured, k.Upserted, k.Skipped, k.Failed, k.Deleted, k.Duration.Round(time.Millisecond))
		total.Fetched += k.Fetched
		total.Filtered += k.Filtered
		total.Misconfigured += k.Misconfigured
		total.Upserted += k.Upserted
		total.Skipped += k.Skipped
		total.Failed += k.Failed
	}
	fmt.Fprintf(tw, "resync %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", rep.Status, total.Fetched, total.Filtered, total.Misconfigured, total.Upserted, total.Skipped, total.Failed, rep.Deleted, rep.End.Sub(rep.Start).Round(time.Millisecond))
	return tw.Flush()
}
