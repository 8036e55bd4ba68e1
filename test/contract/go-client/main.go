// A client of the gateway written against openapi/openapi-3.0.json with Go's kin-openapi (Debian's
// golang-github-getkin-kin-openapi-dev, built in GOPATH mode: nothing is downloaded). It loads and validates the
// committed document, checks that the gateway serves the same one, then sends the calls of a plan (made by
// test/contract/go-client.test.ts against a live gateway) and validates each request and each response against
// the document; it reads /events meanwhile and validates every event's data. It fails when an operation of the
// document was not called, or when anything does not match.
//
// Usage: go-client <openapi-3.0.json> <plan.json>
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/ioutil"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Call is one request of the plan.
type Call struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body,omitempty"`
	Expect int             `json:"expect"`
}

// Plan is what the test hands over: where the gateway is, and the calls to make in order.
type Plan struct {
	Base  string `json:"base"`
	Calls []Call `json:"calls"`
}

var failures []string

func fail(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	failures = append(failures, msg)
	fmt.Println("FAIL", msg)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-client <openapi-3.0.json> <plan.json>")
		os.Exit(2)
	}
	ctx := context.Background()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(os.Args[1])
	if err != nil {
		fmt.Println("FAIL load:", err)
		os.Exit(1)
	}
	if err := doc.Validate(ctx); err != nil {
		fmt.Println("FAIL the document is not valid OpenAPI 3.0:", err)
		os.Exit(1)
	}
	var plan Plan
	raw, err := ioutil.ReadFile(os.Args[2])
	if err == nil {
		err = json.Unmarshal(raw, &plan)
	}
	if err != nil {
		fmt.Println("FAIL plan:", err)
		os.Exit(1)
	}

	compareServed(doc, plan.Base)
	// What the gateway serves names its address; the committed document has a variable there.
	doc.Servers = openapi3.Servers{{URL: plan.Base}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		fmt.Println("FAIL router:", err)
		os.Exit(1)
	}
	// The YAML document is a string to the schema; kin's own YAML decoder would parse it into a map.
	openapi3filter.RegisterBodyDecoder("application/yaml", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (interface{}, error) {
		data, err := ioutil.ReadAll(body)
		return string(data), err
	})

	called := map[string]bool{}
	events := watchEvents(ctx, doc, router, plan.Base, called)
	for _, call := range plan.Calls {
		do(ctx, router, plan.Base, call, called)
	}
	seen := events()

	var missing []string
	for path, item := range doc.Paths {
		for method, op := range item.Operations() {
			if !called[op.OperationID] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		fail("operation never called: %s", m)
	}
	fmt.Printf("operations: %d called; events validated: %d\n", len(called), seen)
	if len(failures) > 0 {
		fmt.Printf("%d failures\n", len(failures))
		os.Exit(1)
	}
	fmt.Println("contract holds")
}

// compareServed checks that /openapi-3.0.json is the committed document but for `servers`, which names base.
func compareServed(doc *openapi3.T, base string) {
	res, err := http.Get(base + "/openapi-3.0.json")
	if err != nil {
		fail("GET /openapi-3.0.json: %v", err)
		return
	}
	defer res.Body.Close()
	var served, committed map[string]interface{}
	if err := json.NewDecoder(res.Body).Decode(&served); err != nil {
		fail("GET /openapi-3.0.json: %v", err)
		return
	}
	text, _ := ioutil.ReadFile(os.Args[1])
	_ = json.Unmarshal(text, &committed)
	servers, _ := json.Marshal(served["servers"])
	if want := fmt.Sprintf(`[{"description":"The address this document was fetched from.","url":"%s"}]`, base); string(servers) != want {
		fail("served servers %s, want %s", servers, want)
	}
	delete(served, "servers")
	delete(committed, "servers")
	if !reflect.DeepEqual(served, committed) {
		fail("the served /openapi-3.0.json differs from the committed document")
	}
}

// do sends one call and validates the request before and the response after.
func do(ctx context.Context, router routers.Router, base string, call Call, called map[string]bool) {
	name := call.Method + " " + call.Path
	var body io.Reader
	if call.Body != nil {
		body = bytes.NewReader(call.Body)
	}
	req, err := http.NewRequest(call.Method, base+call.Path, body)
	if err != nil {
		fail("%s: %v", name, err)
		return
	}
	if call.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// A change without a body must show it is not a browser's cross-site request (the gateway's CSRF guard).
	req.Header.Set("X-Requested-With", "contract-client")
	route, params, err := router.FindRoute(req)
	if err != nil {
		fail("%s: no operation of the document: %v", name, err)
		return
	}
	called[route.Operation.OperationID] = true
	input := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
		fail("%s: request does not match the document: %v", name, err)
		return
	}
	if call.Body != nil {
		// ValidateRequest read the body: send it again.
		req.Body = ioutil.NopCloser(bytes.NewReader(call.Body))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fail("%s: %v", name, err)
		return
	}
	data, err := ioutil.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		fail("%s: reading the answer: %v", name, err)
		return
	}
	if call.Expect != 0 && res.StatusCode != call.Expect {
		fail("%s: status %d, want %d: %s", name, res.StatusCode, call.Expect, data)
		return
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   ioutil.NopCloser(bytes.NewReader(data)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	})
	if err != nil {
		fail("%s: response %d does not match the document: %v", name, res.StatusCode, err)
		return
	}
	fmt.Printf("ok %s %d\n", name, res.StatusCode)
}

// watchEvents subscribes to /events (request and status validated like any call) and validates the data of every
// event against the document's Event (or ResyncNotice) schema. The function it returns stops reading, after
// waiting for at least one event, and says how many were validated.
func watchEvents(ctx context.Context, doc *openapi3.T, router routers.Router, base string, called map[string]bool) func() int {
	req, _ := http.NewRequest("GET", base+"/events", nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		fail("GET /events: %v", err)
		return func() int { return 0 }
	}
	called[route.Operation.OperationID] = true
	input := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
		fail("GET /events: request does not match the document: %v", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fail("GET /events: %v", err)
		return func() int { return 0 }
	}
	// The body is a stream: its status and headers are validated here, each event's data below.
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input, Status: res.StatusCode, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true},
	})
	if err != nil {
		fail("GET /events: response does not match the document: %v", err)
	}
	eventSchema := doc.Components.Schemas["Event"].Value
	resyncSchema := doc.Components.Schemas["ResyncNotice"].Value
	count := make(chan int, 1)
	first := make(chan struct{})
	go func() {
		n := 0
		name := ""
		scanner := bufio.NewScanner(res.Body)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			line := scanner.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var value interface{}
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &value); err != nil {
					fail("event %s: data is not JSON: %v", name, err)
					continue
				}
				schema := eventSchema
				if name == "resync" {
					schema = resyncSchema
				} else if m, ok := value.(map[string]interface{}); !ok || m["type"] != name {
					fail("event %s: data.type is %v", name, value)
				}
				if err := schema.VisitJSON(value); err != nil {
					fail("event %s: data does not match the document: %v", name, err)
				}
				n++
				if n == 1 {
					close(first)
				}
			}
		}
		count <- n
	}()
	return func() int {
		select {
		case <-first:
		case <-time.After(30 * time.Second):
			fail("GET /events: no event within 30 s of the changes")
		}
		res.Body.Close()
		return <-count
	}
}
