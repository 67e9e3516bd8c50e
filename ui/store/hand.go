package store

// HandSynced sets HandRaised to the room store's view of our hand (the
// server's answer, a presenter's dismiss, a refused raise rolled back).
type HandSynced struct{ Raised bool }

func (HandSynced) action() {}
