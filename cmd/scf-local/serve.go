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
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/scf-dbbrain/addusercontact/internal/event"
	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
)

const serveUsage = `Usage: scf-local serve [flags]: serves the function as its Function URL (--apigw: as
an API Gateway trigger), with one warm instance. A function error answers 502, a
timeout 504. A request from another site's page answers 403, one addressed to another
host name 421 (--allow-host adds a name), neither reaching the function. Prints the
base URL on stdout; SIGINT or SIGTERM stops it.
`

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var f functionFlags
	fs := newFlags("serve", serveUsage+functionUsage+exitStatuses, stderr)
	f.register(fs, getenv)
	addr := fs.String("addr", "127.0.0.1:9001", "listen `address`; 127.0.0.1:0 picks a free port")
	apigw := fs.Bool("apigw", false, "send the legacy API Gateway event (requestContext, isBase64Encoded...) rather than the Function URL's")
	var allowHosts []string
	fs.Func("allow-host", "also accept requests whose Host header names `NAME` (any port), e.g. a name in /etc/hosts or a tunnel's; repeatable", func(s string) error {
		if h, _, err := net.SplitHostPort(s); err == nil {
			s = h
		}
		if s == "" || strings.ContainsAny(s, " /") {
			return errors.New("want a host name")
		}
		allowHosts = append(allowHosts, s)
		return nil
	})
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	// Listening first makes a taken port fail before the function starts.
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w: pick another with --addr (make serve ADDR=127.0.0.1:9002), or --addr 127.0.0.1:0 for a free one", err)
	} else if err != nil {
		return err // net's error says "listen tcp ADDR: …"
	}
	defer ln.Close()
	served := ln.Addr().(*net.TCPAddr).AddrPort()
	if warning := exposure(served); warning != "" {
		fmt.Fprintln(stderr, warning)
	}
	rt, stop, err := f.start(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := fmt.Fprintln(stdout, "http://"+ln.Addr().String()); err != nil {
		return fmt.Errorf("write base URL: %w", err)
	}
	// Invocations run under ctx, so that stopping abandons them rather than
	// waiting for a function that may hang until its timeout.
	g := &gateway{ctx: ctx, rt: rt, apigw: *apigw, log: stderr, served: served, allowHosts: allowHosts}
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// exposure is the warning for serving beyond loopback, empty on loopback.
func exposure(served netip.AddrPort) string {
	if served.Addr().Unmap().IsLoopback() {
		return ""
	}
	return fmt.Sprintf("scf-local: warning: serving on %s, beyond loopback: anyone on the network who can reach it can invoke"+
		" the function and register DBbrain contacts with the credentials it holds (the role's keys from your environment,"+
		" or the emulator's); serve on 127.0.0.1 unless that is what you want", served)
}

// gateway turns requests into events and integration responses into answers.
type gateway struct {
	ctx        context.Context
	rt         *scflocal.Runtime
	apigw      bool
	log        io.Writer
	served     netip.AddrPort // the address it listens on
	allowHosts []string       // --allow-host names
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, event.MaxEvent)
	var status int
	var headers map[string]string
	var body []byte
	refused, why := g.refuse(r)
	if refused != 0 {
		status, headers, body = platformError(refused, uuid.NewString(), why)
	} else {
		status, headers, body = g.answer(r)
	}
	if headers == nil {
		headers = map[string]string{"Content-Type": "application/json"}
	}
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
	// The path only: a query string can hold a contact's address.
	if refused != 0 {
		fmt.Fprintf(g.log, "scf-local: refused %s %s: %s -> %d\n", r.Method, r.URL.Path, why, status)
	} else {
		fmt.Fprintf(g.log, "scf-local: %s %s -> %d\n", r.Method, r.URL.Path, status)
	}
}

// refuse returns the status and reason for turning r away before it reaches
// the function, or 0. A web page can make a browser send requests here: a
// Host that is not this server's is DNS rebinding (a page's own name bound
// to 127.0.0.1), 421; a request another page sent, a cross-site form or
// image (which a GET with a query string would register), 403. Plain curl
// sends neither Origin nor Sec-Fetch-Site, and a browser's own tab on this
// server sends same-origin or none.
func (g *gateway) refuse(r *http.Request) (int, string) {
	if !g.ownHost(r.Host) {
		return http.StatusMisdirectedRequest, fmt.Sprintf("Host %q is not this server's address (%s); --allow-host NAME accepts another name", r.Host, g.served)
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return http.StatusForbidden, fmt.Sprintf("the request comes from another site's page (Sec-Fetch-Site: %s)", site)
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if u, err := url.Parse(origin); err != nil || u.Scheme != "http" || !strings.EqualFold(u.Host, r.Host) {
			return http.StatusForbidden, fmt.Sprintf("the request comes from another site's page (Origin %q)", redact.URLsIn(origin))
		}
	}
	return 0, ""
}

// ownHost reports whether a Host header names this server: its address and
// port, localhost with its port when it serves loopback, any IP address with
// its port when it serves every interface (a rebinding page always has a
// name), or an --allow-host name with any port.
func (g *gateway) ownHost(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, "80"
	}
	host = strings.Trim(host, "[]")
	if slices.ContainsFunc(g.allowHosts, func(n string) bool { return strings.EqualFold(n, host) }) {
		return true
	}
	if port != strconv.Itoa(int(g.served.Port())) {
		return false
	}
	served := g.served.Addr().Unmap()
	if strings.EqualFold(host, "localhost") {
		return served.IsLoopback() || served.IsUnspecified()
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && (ip.Unmap() == served || served.IsUnspecified())
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
		return platformError(http.StatusBadGateway, id, redact.URLsIn(err.Error()))
	case err != nil:
		return platformError(http.StatusServiceUnavailable, id, redact.URLsIn(err.Error()))
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
	headers := map[string]string{"host": r.Host}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	remote, _, _ := net.SplitHostPort(r.RemoteAddr)
	query := queryString{}
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
	req := httpRequest{Method: r.Method, Path: r.URL.Path, Headers: headers, Query: query, Body: string(body), IsBase64Encoded: !utf8.Valid(body)}
	return httpEvent(g.apigw, req, id, remote)
}

// platformError is SCF's error JSON, for requests it could not hand to the
// function or whose invocation it could not complete.
func platformError(status int, requestID, msg string) (int, map[string]string, []byte) {
	body, _ := json.Marshal(map[string]any{"errorCode": -1, "errorMessage": msg, "requestId": requestID, "statusCode": status})
	return status, nil, body
}
