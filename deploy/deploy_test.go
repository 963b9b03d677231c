// Package deploy_test checks the deployment descriptors: serverless.yml and
// the CAM policies beside this file.
package deploy_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type serverless struct {
	Component string `yaml:"component"`
	Name      string `yaml:"name"`
	Inputs    struct {
		Name        string `yaml:"name"`
		Namespace   string `yaml:"namespace"`
		Description string `yaml:"description"`
		Src         struct {
			Src     string   `yaml:"src"`
			Exclude []string `yaml:"exclude"`
		} `yaml:"src"`
		Type           string `yaml:"type"`
		Runtime        string `yaml:"runtime"`
		Handler        string `yaml:"handler"`
		Region         string `yaml:"region"`
		Role           string `yaml:"role"`
		MemorySize     int    `yaml:"memorySize"`
		Timeout        int    `yaml:"timeout"`
		RetryNum       *int   `yaml:"retryNum"`
		AsyncRunEnable *bool  `yaml:"asyncRunEnable"`
		Environment    struct {
			Variables map[string]string `yaml:"variables"`
		} `yaml:"environment"`
		Events []map[string]struct {
			Parameters map[string]any `yaml:"parameters"`
		} `yaml:"events"`
	} `yaml:"inputs"`
}

func load(t *testing.T) serverless {
	t.Helper()
	raw, err := os.ReadFile("../serverless.yml")
	if err != nil {
		t.Fatal(err)
	}
	var s serverless
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("serverless.yml does not parse: %v", err)
	}
	return s
}

func TestServerlessYML(t *testing.T) {
	s := load(t)
	in := s.Inputs
	if s.Component != "scf" || in.Runtime != "Go1" || in.Handler != "main" || in.Type != "event" {
		t.Errorf("component %q runtime %q handler %q type %q", s.Component, in.Runtime, in.Handler, in.Type)
	}
	if in.Src.Src != "./dist" || in.Region != "ap-guangzhou" || in.Role == "" {
		t.Errorf("src %q region %q role %q", in.Src.Src, in.Region, in.Role)
	}
	// The component applies retryNum only with asyncRunEnable, which turns on
	// long-running asynchronous execution: a retryNum alone would claim a
	// retry count it does not set.
	if in.RetryNum != nil && (in.AsyncRunEnable == nil || !*in.AsyncRunEnable) {
		t.Errorf("retryNum %d has no effect without asyncRunEnable", *in.RetryNum)
	}
	if in.MemorySize != 64 && (in.MemorySize < 128 || in.MemorySize > 3072) {
		t.Errorf("memorySize %d is not a size SCF offers", in.MemorySize)
	}
	// A 1000-contact batch at 20 requests per second takes 51 s of calls at
	// 99% pacing; the timeout must cover that with room for retries.
	if min := 1000/(20*0.99) + 30; float64(in.Timeout) < min || in.Timeout > 900 {
		t.Errorf("timeout %d s cannot hold a 1000-contact batch (need >= %.0f s, SCF allows <= 900)", in.Timeout, min)
	}
	for _, k := range []string{"DBBRAIN_REGION", "DBBRAIN_RPS", "DBBRAIN_CONCURRENCY", "LOG_LEVEL"} {
		if _, ok := in.Environment.Variables[k]; !ok {
			t.Errorf("environment lacks %s", k)
		}
	}
	var kinds []string
	for _, ev := range in.Events {
		for kind, body := range ev {
			kinds = append(kinds, kind)
			p := body.Parameters
			switch kind {
			case "http":
				if p["authType"] != "CAM" {
					t.Errorf("Function URL authType %v: it must not be public by default", p["authType"])
				}
				if _, cors := p["corsConfig"]; cors {
					t.Error("CORS must stay off")
				}
			case "timer":
				if p["enable"] != false {
					t.Errorf("the timer must be created disabled, enable = %v", p["enable"])
				}
				var c map[string]string
				if err := json.Unmarshal([]byte(p["argument"].(string)), &c); err != nil || c["Name"] == "" || c["ContactInfo"] == "" {
					t.Errorf("timer argument is not a contact: %v %v", p["argument"], err)
				}
				if len(p["argument"].(string)) > 4096 {
					t.Error("timer argument over 4 KB")
				}
			default:
				t.Errorf("unexpected active trigger %q (the API Gateway one stays commented)", kind)
			}
		}
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"http", "timer"}) {
		t.Errorf("triggers %v", kinds)
	}
	raw, _ := os.ReadFile("../serverless.yml")
	for _, block := range []string{"# - apigw:", "# - ckafka:", "tccli scf UpdateFunctionEventInvokeConfig", "tccli scf PutReservedConcurrencyConfig"} {
		if !strings.Contains(string(raw), block) {
			t.Errorf("serverless.yml does not document %q", block)
		}
	}
}

type policy struct {
	Version   string `json:"version"`
	Statement []struct {
		Effect    string         `json:"effect"`
		Action    []string       `json:"action"`
		Resource  []string       `json:"resource"`
		Principal map[string]any `json:"principal"`
	} `json:"statement"`
}

func loadPolicy(t *testing.T, path string) policy {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p policy
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if p.Version != "2.0" {
		t.Errorf("%s: version %q", path, p.Version)
	}
	return p
}

// Least privilege: the role may add and list contacts and nothing else.
func TestExecutionRolePolicy(t *testing.T) {
	p := loadPolicy(t, "cam/execution-role-policy.json")
	var actions []string
	for _, st := range p.Statement {
		if st.Effect != "allow" {
			t.Errorf("effect %q", st.Effect)
		}
		actions = append(actions, st.Action...)
	}
	slices.Sort(actions)
	if !slices.Equal(actions, []string{"dbbrain:AddUserContact", "dbbrain:DescribeAllUserContact"}) {
		t.Errorf("actions %v", actions)
	}
	trust := loadPolicy(t, "cam/execution-role-trust.json")
	if len(trust.Statement) != 1 || !strings.Contains(strings.Join(trust.Statement[0].Action, ","), "sts:AssumeRole") {
		t.Errorf("trust policy %+v", trust)
	}
	svc, _ := trust.Statement[0].Principal["service"].([]any)
	if len(svc) != 1 || svc[0] != "scf.qcloud.com" {
		t.Errorf("trusted principal %v", trust.Statement[0].Principal)
	}
}

func TestCallerPolicy(t *testing.T) {
	p := loadPolicy(t, "cam/caller-policy.json")
	if len(p.Statement) != 1 || !slices.Equal(p.Statement[0].Action, []string{"scf:InvokeFunctionUrl"}) {
		t.Fatalf("caller policy %+v", p)
	}
	for _, r := range p.Statement[0].Resource {
		if r == "*" || !strings.HasPrefix(r, "qcs::scf:") || !strings.HasSuffix(r, "/function/dbbrain-addusercontact") {
			t.Errorf("resource %q is not scoped to this function", r)
		}
	}
}
