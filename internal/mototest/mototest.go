// Package mototest starts moto_server (moto's stand-in for every AWS
// service on one port, with the real protocols) for end-to-end tests that
// want an implementation independent of this project's own stand-ins.
//
// moto_server is preinstalled on the CI machine's Python; elsewhere
// `pip install 'moto[server]'`. Without it a test skips with a message,
// except under CI=true, where it fails.
package mototest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Server is a running moto_server.
type Server struct {
	URL string
}

// Start runs moto_server on a free loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("moto_server is not on PATH (pip install 'moto[server]'); CI=true needs it")
		}
		t.Skip("moto_server is not on PATH: pip install 'moto[server]' to run this test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	// Its own process group, so that the Flask server's children stop too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})

	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-done:
			t.Fatalf("moto_server exited: %s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer within 60 s: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Config is an SDK configuration for the server: every service's endpoint
// is moto, in region, with moto's fake credentials.
func (s *Server) Config(region string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(s.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "mototest"}, nil
		}),
	}
}

// Env is the environment a process needs to reach the server (a local
// server with --sfn aws, for example).
func (s *Server) Env(region string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.URL,
		"AWS_REGION=" + region,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}
