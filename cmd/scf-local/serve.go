package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/scf-dbbrain/addusercontact/internal/event"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
)

const serveUsage = `Usage: scf-local serve [flags]: serves the function as its Function URL (--apigw: as
an API Gateway trigger), with one warm instance. A function error answers 502, a
timeout 504. Prints the base URL on stdout; SIGINT or SIGTERM stops it.
`

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var f functionFlags
	fs := newFlags("serve", serveUsage+functionUsage+exitStatuses, stderr)
	f.register(fs, getenv)
	addr := fs.String("addr", "127.0.0.1:9001", "listen `address`; 127.0.0.1:0 picks a free port")
	apigw := fs.Bool("apigw", false, "send the legacy API Gateway event (requestContext, isBase64Encoded...) rather than the Function URL's")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	// Listening first makes a taken port fail before the function starts.
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	rt, stop, err := f.start(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := fmt.Fprintln(stdout, "http://"+ln.Addr().String()); err != nil {
		return fmt.Errorf("write base URL: %w", err)
	}
	if !ln.Addr().(*net.TCPAddr).IP.IsLoopback() {
		fmt.Fprintf(stderr, "scf-local: warning: %s is not loopback: anyone who can reach it can call the function\n", ln.Addr())
	}
	// Invocations run under ctx, so that stopping abandons them rather than
	// waiting for a function that may hang until its timeout.
	srv := &http.Server{Handler: &gateway{ctx: ctx, rt: rt, apigw: *apigw, log: stderr}, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// gateway turns requests into events and integration responses into answers.
type gateway struct {
	ctx   context.Context
	rt    *scflocal.Runtime
	apigw bool
	log   io.Writer
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, event.MaxEvent)
	status, headers, body := g.answer(r)
	if headers == nil {
		headers = map[string]string{"Content-Type": "application/json"}
	}
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
	fmt.Fprintf(g.log, "scf-local: %s %s -> %d\n", r.Method, r.URL.RequestURI(), status)
}

func (g *gateway) answer(r *http.Request) (int, map[string]string, []byte) {
	id := uuid.NewString()
	body, err := io.ReadAll(r.Body)
	if errors.As(err, new(*http.MaxBytesError)) {
		return platformError(http.StatusRequestEntityTooLarge, id, "the request is over 6 MB, SCF's limit for a synchronous invocation")
	} else if err != nil {
		return platformError(http.StatusBadRequest, id, "reading the request: "+err.Error())
	}
	payload, err := json.Marshal(g.event(r, body, id))
	if err != nil || len(payload) > event.MaxEvent {
		return platformError(http.StatusRequestEntityTooLarge, id, "the event is over 6 MB, SCF's limit for a synchronous invocation")
	}
	res, err := g.rt.Invoke(g.ctx, payload, scflocal.WithRequestID(id))
	var pe *scflocal.ProcessExitError
	switch {
	case errors.As(err, &pe):
		return platformError(http.StatusBadGateway, id, err.Error())
	case err != nil:
		return platformError(http.StatusServiceUnavailable, id, err.Error())
	case res.TimedOut:
		return http.StatusGatewayTimeout, nil, res.ErrorResponse()
	case res.FunctionError != nil:
		return http.StatusBadGateway, nil, res.ErrorResponse()
	}
	var ir event.IntegrationResponse
	if json.Unmarshal(res.Payload, &ir) != nil || ir.StatusCode == 0 {
		// A Function URL answers a value that is no integration response as
		// the body.
		return http.StatusOK, nil, res.Payload
	}
	out, err := []byte(ir.Body), nil
	if ir.IsBase64Encoded {
		out, err = base64.StdEncoding.DecodeString(ir.Body)
	}
	if err != nil || ir.StatusCode < 100 || ir.StatusCode > 599 {
		return platformError(http.StatusBadGateway, id, "the integration response has an invalid statusCode or base64 body")
	}
	return ir.StatusCode, ir.Headers, out
}

// event is the trigger's event for r.
func (g *gateway) event(r *http.Request, body []byte, id string) any {
	headers := event.Headers{"host": r.Host}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	remote, _, _ := net.SplitHostPort(r.RemoteAddr)
	query := event.QueryString{}
	unescape := func(s string) string { // an undecodable escape is kept as sent
		if u, err := url.QueryUnescape(s); err == nil {
			return u
		}
		return s
	}
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if k, v, hasValue := strings.Cut(part, "="); k != "" {
			addQuery(query, unescape(k), unescape(v), hasValue)
		}
	}
	// JSON text cannot carry a body that is not UTF-8: API Gateway then
	// base64-encodes it.
	req := event.HTTPRequest{Method: r.Method, Path: r.URL.Path, Headers: headers, Query: query, Body: string(body), IsBase64Encoded: !utf8.Valid(body)}
	return httpEvent(g.apigw, req, id, remote)
}

// platformError is SCF's error JSON, for requests it could not hand to the
// function or whose invocation it could not complete.
func platformError(status int, requestID, msg string) (int, map[string]string, []byte) {
	body, _ := json.Marshal(map[string]any{"errorCode": -1, "errorMessage": msg, "requestId": requestID, "statusCode": status})
	return status, nil, body
}
