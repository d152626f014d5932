package samtemplate

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// deployerPolicyPath is the IAM policy a deployer needs (docs/DEPLOY.md).
var deployerPolicyPath = filepath.Join(repoRoot, "docs", "deployer-policy.json")

// deployerNeeds: what CloudFormation and the SAM CLI call with the
// deployer's credentials, per resource type of the translated templates
// (and "sam" for the SAM CLI and the stack itself). Each type's list is
// the permissions its CloudFormation handlers (create, read, update,
// delete) name in the type's registry schema, without those for features
// the templates do not use (VPC, EFS, code signing, layers, a KMS key for
// environment variables). A type the templates start using fails the
// test until it has a row here and a grant in the policy.
var deployerNeeds = map[string][]string{
	"sam": { // sam deploy (resolve_s3, change sets) and sam delete
		"cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack",
		"cloudformation:DescribeChangeSet", "cloudformation:DescribeStackEvents", "cloudformation:DescribeStackResource",
		"cloudformation:DescribeStackResources", "cloudformation:DescribeStacks", "cloudformation:ExecuteChangeSet",
		"cloudformation:GetTemplate", "cloudformation:GetTemplateSummary", "cloudformation:ListStackResources",
		"cloudformation:ValidateTemplate",
		// The bucket of the aws-sam-cli-managed-default stack, its code.
		"s3:CreateBucket", "s3:DeleteObject", "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:GetObject",
		"s3:ListBucket", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutBucketTagging",
		"s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutObject",
	},
	"AWS::ApiGateway::RestApi":         {"apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"},
	"AWS::ApiGateway::Deployment":      {"apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST"},
	"AWS::ApiGateway::Stage":           {"apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"},
	"AWS::ApiGateway::Account":         {"apigateway:GET", "apigateway:PATCH", "iam:GetRole", "iam:PassRole"},
	"AWS::ApiGateway::DomainName":      {"apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"},
	"AWS::ApiGateway::BasePathMapping": {"apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST"},
	"AWS::Lambda::Function": {
		"lambda:CreateFunction", "lambda:DeleteFunction", "lambda:DeleteFunctionConcurrency", "lambda:GetFunction",
		"lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionRecursionConfig", "lambda:GetRuntimeManagementConfig",
		"lambda:ListTags", "lambda:PutFunctionConcurrency", "lambda:PutFunctionRecursionConfig",
		"lambda:PutRuntimeManagementConfig", "lambda:TagResource", "lambda:UntagResource", "lambda:UpdateFunctionCode",
		"lambda:UpdateFunctionConfiguration", "iam:PassRole", "s3:GetObject", "s3:GetObjectVersion",
	},
	"AWS::Lambda::Permission":         {"lambda:AddPermission", "lambda:GetPolicy", "lambda:RemovePermission"},
	"AWS::Lambda::EventSourceMapping": {"lambda:CreateEventSourceMapping", "lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"},
	"AWS::IAM::Role": {
		"iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
		"iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:PutRolePolicy",
		"iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRoleDescription",
	},
	"AWS::IAM::Policy": {"iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:PutRolePolicy"},
	"AWS::IAM::ManagedPolicy": {
		"iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:GetPolicy",
		"iam:GetPolicyVersion", "iam:ListEntitiesForPolicy", "iam:ListPolicyVersions",
	},
	"AWS::KMS::Key": {
		"kms:CreateKey", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey",
		"kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
		"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
	},
	"AWS::KMS::Alias": {"kms:CreateAlias", "kms:DeleteAlias", "kms:ListAliases", "kms:UpdateAlias"},
	"AWS::Logs::LogGroup": {
		"logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteRetentionPolicy", "logs:DescribeLogGroups",
		"logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource", "logs:UntagResource",
	},
	"AWS::Route53::RecordSet": {"route53:ChangeResourceRecordSets", "route53:GetChange", "route53:GetHostedZone", "route53:ListResourceRecordSets"},
	"AWS::SNS::Topic": {
		"sns:CreateTopic", "sns:DeleteTopic", "sns:GetSubscriptionAttributes", "sns:GetTopicAttributes",
		"sns:ListSubscriptionsByTopic", "sns:ListTagsForResource", "sns:SetTopicAttributes", "sns:Subscribe",
		"sns:TagResource", "sns:Unsubscribe", "sns:UntagResource",
	},
	"AWS::SQS::Queue": {
		"sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags",
		"sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue",
	},
	"AWS::StepFunctions::StateMachine": {
		"states:CreateStateMachine", "states:DeleteStateMachine", "states:DescribeStateMachine",
		"states:ListTagsForResource", "states:TagResource", "states:UntagResource", "states:UpdateStateMachine",
		"iam:PassRole", "s3:GetObject",
	},
	"AWS::StepFunctions::Activity": {
		"states:CreateActivity", "states:DeleteActivity", "states:DescribeActivity", "states:ListTagsForResource",
		"states:TagResource", "states:UntagResource",
	},
}

// policyStatement is one statement of an IAM policy document.
type policyStatement struct {
	Sid       string
	Effect    string
	Action    any
	NotAction any
	Resource  any
	Condition map[string]map[string]any
}

func loadDeployerPolicy(t *testing.T) []policyStatement {
	t.Helper()
	data, err := os.ReadFile(deployerPolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []policyStatement
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", deployerPolicyPath, err)
	}
	if doc.Version != "2012-10-17" {
		t.Errorf("Version %q", doc.Version)
	}
	return doc.Statement
}

// The deployer policy grants what deploying and deleting every deployment
// of template.yaml and every example's template needs, and nothing more.
func TestDeployerPolicy(t *testing.T) {
	stmts := loadDeployerPolicy(t)
	granted := map[string]bool{}
	sids := map[string]bool{}
	for _, s := range stmts {
		if s.Sid == "" || sids[s.Sid] {
			t.Errorf("statement Sid %q: every statement has its own", s.Sid)
		}
		sids[s.Sid] = true
		if s.Effect != "Allow" || s.NotAction != nil {
			t.Errorf("%s: Effect %s, NotAction %v", s.Sid, s.Effect, s.NotAction)
		}
		resources := stringList(s.Resource)
		if len(resources) == 0 {
			t.Errorf("%s: no Resource", s.Sid)
		}
		for _, a := range stringList(s.Action) {
			if strings.Contains(a, "*") {
				t.Errorf("%s: action pattern %s", s.Sid, a)
			}
			granted[a] = true
			// "*" only for actions that take no resource (or are scoped
			// by a condition).
			if slices.Contains(resources, "*") && s.Condition == nil && !strings.HasSuffix(s.Sid, "TakesNoResource") &&
				!strings.HasSuffix(s.Sid, "TakeNoResource") && !strings.HasSuffix(s.Sid, "TakesNoGroup") {
				t.Errorf("%s: %s on *", s.Sid, a)
			}
		}
	}

	// The resource types of every deployment and every example.
	types := map[string]bool{"sam": true}
	for _, d := range deployments {
		for _, r := range section(translated(t, d), "Resources") {
			types[mapAt(r)["Type"].(string)] = true
		}
	}
	for _, tf := range templates(t)[1:] {
		out, complaint := translateCached(t, tf, nil)
		if complaint != "" {
			t.Fatalf("%s: %s", tf.name, complaint)
		}
		for _, r := range section(out, "Resources") {
			types[mapAt(r)["Type"].(string)] = true
		}
	}
	needed := map[string]bool{}
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		needs, ok := deployerNeeds[typ]
		if !ok {
			t.Errorf("the templates create %s: add what deploying it needs to deployerNeeds and the policy", typ)
			continue
		}
		for _, a := range needs {
			needed[a] = true
			if !granted[a] {
				t.Errorf("%s needs %s, which %s does not grant", typ, a, deployerPolicyPath)
			}
		}
	}
	for a := range granted {
		if !needed[a] {
			t.Errorf("%s grants %s, which no resource type of the templates needs", deployerPolicyPath, a)
		}
	}
	for typ := range deployerNeeds {
		if !types[typ] {
			t.Errorf("deployerNeeds has %s, which no template creates", typ)
		}
	}
	t.Logf("%d resource types, %d actions", len(types)-1, len(granted))
}
