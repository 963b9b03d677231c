// Package scflocal runs a built SCF (Tencent Serverless Cloud Function) Go1
// binary on this machine the way the Go1 runtime runs it in the cloud: the
// binary is started with _LAMBDA_SERVER_PORT, answers Go net/rpc calls
// Function.Ping and Function.Invoke (github.com/tencentyun/scf-go-lib), gets a
// real deadline and the per-invocation Environment on every call, is killed
// when it overruns its time limit or panics, and is started again (a cold
// start) for the next request.
//
// A Runtime is one function instance: it serves one request at a time.
//
// The function's output and SCF-style platform lines go to Config.Stderr,
// per invocation:
//
//	START RequestId:<id>
//	<the function's output>
//	ERROR RequestId:<id> Result:<Type>: <Message>      (failed invocations only)
//	END RequestId:<id>
//	Report RequestId:<id> Duration:0.48ms BilledDuration:1ms Memory:128MB MemUsage:7.89MB InitDuration:4.24ms
//
// InitDuration appears on a cold start only. Output is copied through a pipe,
// so a function's last lines can land just after END.
//
// scf-go-lib listens on 0.0.0.0:port, so while an instance runs its RPC port
// is reachable from other hosts; the runtime itself connects over 127.0.0.1
// only.
package scflocal
