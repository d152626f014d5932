// Package awstest has stand-ins for the AWS services the examples send
// mail through: Amazon SNS's Publish (SNS) and Amazon SES v2's SendEmail
// (SES). Each is built on internal/standin's base: an HTTP server on
// 127.0.0.1 speaking the service's real protocol (the query protocol,
// REST-JSON), so the real SDK clients serialise, sign, retry and decode
// errors as they do against AWS, and checking that requests are signed
// with the stand-ins' credentials (standin.Credentials) for the service.
// Each keeps the base's FailNext, Throttle and call log.
package awstest

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
)

// Region and account of the stand-ins' resources.
const (
	Region  = standin.Region
	Account = standin.Account
)

// Config is an aws.Config for a stand-in at url: region us-east-1, the
// stand-ins' credentials, a fast retryer, every service's endpoint url.
// It reads no environment or shared configuration.
func Config(url string) aws.Config { return standin.Config(url) }
