package widget

// OpenSockets is the number of visitor sockets open past their hello (a
// socket is counted once it names its conversation, until it closes), for
// monitoring. It counts only when Options.LiveChat is set, as cmd/bulle
// does: the count is the one that abandons queued chats (abandon.go).
func (w *Widget) OpenSockets() int {
	a := w.absent
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.open {
		n += c
	}
	return n
}
