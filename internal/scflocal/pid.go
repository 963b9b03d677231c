package scflocal

// PID returns the process id of the running function instance, or 0 when
// none runs (the next Invoke starts one). A local trigger uses it to kill an
// instance mid-invocation, as a crashed SCF instance would be.
func (r *Runtime) PID() int {
	inst := r.inst.Load()
	if inst == nil || inst.cmd.Process == nil {
		return 0
	}
	return inst.cmd.Process.Pid
}
