package scflocal

// HangUp closes the runtime's end of the instance's connection without
// signalling the process, as the runtime's death would.
func HangUp(r *Runtime) {
	if inst := r.inst.Load(); inst != nil {
		_ = inst.client.Close()
	}
}
