package escalation

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkCreateTicket opens tickets from the contact page: each is a
// conversation, the ticket, its message and the confirmation in the
// outbox, committed (fsynced) in one transaction.
func BenchmarkCreateTicket(b *testing.B) {
	d, _ := newTestDesk(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := d.CreateTicket(ctx, NewTicket{Lang: "fr", Topic: "other", Email: fmt.Sprintf("v%d@example.org", i),
			Name: "Visiteur", Message: "Bonjour, ma commande n'est pas arrivée."}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
}
