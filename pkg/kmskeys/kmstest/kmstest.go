// Package kmstest is a stand-in for the part of AWS KMS this service uses
// (GenerateDataKey, Decrypt, GenerateMac and DescribeKey) for tests.
//
// It is built on internal/standin's base, speaking the real AWS JSON 1.1
// protocol (X-Amz-Target: TrentService.<Operation>,
// application/x-amz-json-1.1, base64 blobs in JSON) and verifying
// signatures, so the real SDK client serialises, signs, retries and
// decodes errors exactly as it does against KMS:
//
//	srv := kmstest.New(t)
//	client := srv.Client(ctx)
//	out, _ := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
//		KeyId: aws.String(kmstest.Alias), KeySpec: types.DataKeySpecAes256,
//		EncryptionContext: map[string]string{"service": "sfn-callback-urls"}})
//	srv.Count("GenerateDataKey") // 1
//
// New's server has two keys: a symmetric encryption key (Alias) and an
// HMAC_256 key (HMACAlias); NewKey, NewHMACKey, NewKeyOfSpec and
// AddHMACKey make more.
//
// What it does as KMS does:
//   - keys are named by key id, key ARN, alias name or alias ARN; an
//     unknown name is NotFoundException, a disabled key DisabledException,
//     a key pending deletion KMSInvalidStateException;
//   - a key is used only for what its spec and usage allow: data keys
//     from SYMMETRIC_DEFAULT keys, MACs from HMAC keys with their own
//     algorithm (HMAC_SHA_256 for HMAC_256); anything else is
//     InvalidKeyUsageException. DescribeKey describes any key in any state;
//   - GenerateMac is HMAC of the message under the key's secret, so that
//     a test can compute the same MAC with crypto/hmac (AddHMACKey);
//   - a ciphertext blob for an N-byte data key is 152+N bytes (184 for
//     AES-256), binds its key and the encryption context (a different
//     context, or any altered byte, is InvalidCiphertextException), and
//     Decrypt with a KeyId naming another key is IncorrectKeyException;
//   - like the SAM template's key policy, New's server requires the
//     encryption context {"service": "sfn-callback-urls"} on every call
//     (AccessDeniedException otherwise); RequireContext changes that;
//   - FailNext injects errors (ThrottlingException, AccessDeniedException,
//     DisabledException, KMSInternalException with 500, ...); Hold piles
//     callers up (both the base's).
//
// Blob layout (not KMS's, which is undocumented; only its size is KMS's):
//
//	version(1)=1 format(1)=2 key-uuid(16) backing-key-id(32) reserved(74)
//	nonce(12) AES-256-GCM(data key)||tag(16)
//	AAD = the 136 bytes before the ciphertext || the sorted encryption context
package kmstest

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/standin"
)

// Account, region and names of the server's resources.
const (
	Region  = standin.Region
	Account = standin.Account
	// Alias names the symmetric encryption key New creates.
	Alias = "alias/sfn-callback-urls"
	// HMACAlias names the HMAC_256 key New creates.
	HMACAlias = "alias/sfn-callback-urls-hmac"
)

// Key specs and usages, as KMS spells them.
const (
	SpecSymmetric = "SYMMETRIC_DEFAULT"
	SpecHMAC256   = "HMAC_256"
	UsageEncrypt  = "ENCRYPT_DECRYPT"
	UsageMAC      = "GENERATE_VERIFY_MAC"
)

// macAlgorithms is the one algorithm each HMAC key spec supports.
var macAlgorithms = map[string]string{
	"HMAC_224": "HMAC_SHA_224", "HMAC_256": "HMAC_SHA_256", "HMAC_384": "HMAC_SHA_384", "HMAC_512": "HMAC_SHA_512",
}

// Blob layout sizes.
const (
	headerSize   = 136 // everything before the ciphertext
	aadSize      = headerSize - nonceSize
	nonceSize    = 12
	tagSize      = 16
	BlobOverhead = headerSize + tagSize // blob size minus data key size
)

// Key states.
const (
	Enabled         = "Enabled"
	Disabled        = "Disabled"
	PendingDeletion = "PendingDeletion"
)

// Call is one request the server received.
type Call struct {
	// Operation is X-Amz-Target without "TrentService.".
	Operation         string
	KeyID             string // as sent ("" if absent)
	EncryptionContext map[string]string
	// Message is GenerateMac's message.
	Message []byte
	// Status and ErrorType are the answer ("" on success).
	Status    int
	ErrorType string
}

// Server is a running stand-in. Its methods are safe for concurrent use;
// the base's (URL, Close, Config, FailNext, Throttle, Hold, Held, Count,
// Reset, ...) come with it.
type Server struct {
	*standin.Server

	mu       sync.Mutex
	keys     map[string]*key // by key uuid
	aliases  map[string]string
	required map[string]string
}

type key struct {
	id      string
	uuid    [16]byte
	backing [32]byte
	aead    cipher.AEAD // SYMMETRIC_DEFAULT keys
	spec    string
	usage   string
	secret  []byte // HMAC keys
	state   string
	created time.Time
}

// New starts a server with one enabled key, named by Alias too, that
// requires the encryption context {"service": "sfn-callback-urls"}, and
// closes it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		keys:     make(map[string]*key),
		aliases:  make(map[string]string),
		required: map[string]string{"service": "sfn-callback-urls"},
	}
	arn := s.NewKey()
	s.aliases[Alias] = arn[strings.LastIndexByte(arn, '/')+1:]
	arn = s.NewHMACKey()
	s.aliases[HMACAlias] = arn[strings.LastIndexByte(arn, '/')+1:]
	s.Server = standin.New(t, standin.Service{Name: "kmstest", Protocol: standin.JSON11, SigningName: "kms",
		TargetPrefix: "TrentService", MaxRequestBytes: 1 << 16})
	standin.Handle(s.Server, "GenerateDataKey", s.locked(s.generateDataKey))
	standin.Handle(s.Server, "Decrypt", s.locked(s.decrypt))
	standin.Handle(s.Server, "GenerateMac", s.locked(s.generateMac))
	standin.Handle(s.Server, "DescribeKey", s.locked(s.describeKey))
	return s
}

// Client returns an SDK client for this server on its Config: static
// credentials, region us-east-1, and the standard retryer (3 attempts)
// with a 1 ms backoff and no retry quota. It reads no environment or
// shared config.
func (s *Server) Client(ctx context.Context, optFns ...func(*kms.Options)) *kms.Client {
	_ = ctx
	return kms.NewFromConfig(s.Config(), optFns...)
}

// NewKey creates an enabled symmetric encryption key and returns its ARN.
func (s *Server) NewKey() string { return s.NewKeyOfSpec(SpecSymmetric, UsageEncrypt) }

// NewHMACKey creates an enabled HMAC_256 key with a random secret and
// returns its ARN.
func (s *Server) NewHMACKey() string { return s.NewKeyOfSpec(SpecHMAC256, UsageMAC) }

// NewKeyOfSpec creates an enabled key of any spec and usage (for example
// RSA_2048 and SIGN_VERIFY, which DescribeKey describes and nothing else
// uses) and returns its ARN.
func (s *Server) NewKeyOfSpec(spec, usage string) string {
	var id [16]byte
	_, _ = rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	var secret []byte
	if macAlgorithms[spec] != "" {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	return s.addKey(id, spec, usage, secret)
}

// AddHMACKey adds an enabled HMAC_256 key with a given id (a UUID) and
// secret, whose MACs a test can compute itself, and returns its ARN.
func (s *Server) AddHMACKey(id string, secret []byte) string {
	raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(raw) != 16 || formatUUID([16]byte(raw)) != id {
		panic("kmstest: AddHMACKey: the key id must be a lower-case UUID")
	}
	return s.addKey([16]byte(raw), SpecHMAC256, UsageMAC, bytes.Clone(secret))
}

func (s *Server) addKey(id [16]byte, spec, usage string, secret []byte) string {
	k := &key{uuid: id, spec: spec, usage: usage, secret: secret, state: Enabled, created: time.Now().Truncate(time.Second)}
	k.id = formatUUID(k.uuid)
	k.backing = sha256.Sum256(k.uuid[:])
	if spec == SpecSymmetric {
		dek := make([]byte, 32)
		_, _ = rand.Read(dek)
		block, _ := aes.NewCipher(dek)
		k.aead, _ = cipher.NewGCM(block)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.id] = k
	return keyARN(k.id)
}

// KeyARN is the ARN of the key Alias names.
func (s *Server) KeyARN() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return keyARN(s.aliases[Alias])
}

// HMACKeyARN is the ARN of the key HMACAlias names.
func (s *Server) HMACKeyARN() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return keyARN(s.aliases[HMACAlias])
}

// SetKeyState sets a key's state (Enabled, Disabled, PendingDeletion); name
// is any name of the key.
func (s *Server) SetKeyState(name, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, _ := s.resolve(name); k != nil {
		k.state = state
	}
}

// RequireContext makes every call need exactly this encryption context, as
// a key policy condition would (AccessDeniedException otherwise). nil
// requires nothing.
func (s *Server) RequireContext(ctx map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.required = maps.Clone(ctx)
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	return standin.CallsAs(s.Server, func(c standin.Call) Call {
		call := Call{Operation: c.Operation, Status: c.Status, ErrorType: c.Code}
		if in, ok := c.Input.(*request); ok {
			call.KeyID, call.EncryptionContext, call.Message = aws.ToString(in.KeyID), in.EncryptionContext, in.Message
		}
		return call
	})
}

// request is the union of the operations' inputs; []byte members are
// base64 in JSON, as in the protocol.
type request struct {
	KeyID               *string           `json:"KeyId"`
	KeySpec             *string           `json:"KeySpec"`
	NumberOfBytes       *int              `json:"NumberOfBytes"`
	EncryptionContext   map[string]string `json:"EncryptionContext"`
	CiphertextBlob      []byte            `json:"CiphertextBlob"`
	EncryptionAlgorithm *string           `json:"EncryptionAlgorithm"`
	MacAlgorithm        *string           `json:"MacAlgorithm"`
	Message             []byte            `json:"Message"`
}

type generateMacResponse struct {
	KeyId        string
	Mac          []byte
	MacAlgorithm string
}

type describeKeyResponse struct {
	KeyMetadata keyMetadata
}

// keyMetadata is the part of KMS's KeyMetadata the stand-in knows.
type keyMetadata struct {
	AWSAccountId          string
	Arn                   string
	KeyId                 string
	CreationDate          float64 // epoch seconds, as the protocol writes timestamps
	Enabled               bool
	Description           string
	KeyUsage              string
	KeyState              string
	Origin                string
	KeyManager            string
	CustomerMasterKeySpec string
	KeySpec               string
	EncryptionAlgorithms  []string `json:",omitempty"`
	MacAlgorithms         []string `json:",omitempty"`
	MultiRegion           bool
}

type generateDataKeyResponse struct {
	CiphertextBlob []byte
	KeyId          string
	Plaintext      []byte
}

type decryptResponse struct {
	KeyId               string
	Plaintext           []byte
	EncryptionAlgorithm string
}

func (s *Server) describeKey(req *request) (any, *standin.Error) {
	if req.KeyID == nil || *req.KeyID == "" {
		return nil, validation("Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	k, aerr := s.resolve(*req.KeyID)
	if aerr != nil {
		return nil, aerr
	}
	md := keyMetadata{
		AWSAccountId: Account, Arn: keyARN(k.id), KeyId: k.id, CreationDate: float64(k.created.Unix()),
		Enabled: k.state == Enabled, KeyUsage: k.usage, KeyState: k.state, Origin: "AWS_KMS", KeyManager: "CUSTOMER",
		CustomerMasterKeySpec: k.spec, KeySpec: k.spec,
	}
	if alg := macAlgorithms[k.spec]; alg != "" {
		md.MacAlgorithms = []string{alg}
	} else if k.spec == SpecSymmetric {
		md.EncryptionAlgorithms = []string{"SYMMETRIC_DEFAULT"}
	}
	return &describeKeyResponse{KeyMetadata: md}, nil
}

func (s *Server) generateMac(req *request) (any, *standin.Error) {
	switch {
	case req.KeyID == nil || *req.KeyID == "":
		return nil, validation("Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	case req.MacAlgorithm == nil:
		return nil, validation("Value null at 'macAlgorithm' failed to satisfy constraint: Member must not be null")
	case len(req.Message) == 0 || len(req.Message) > 4096:
		return nil, validation("Value at 'message' failed to satisfy constraint: Member must have length between 1 and 4096")
	}
	k, aerr := s.resolve(*req.KeyID)
	if aerr != nil {
		return nil, aerr
	}
	if k.usage != UsageMAC || macAlgorithms[k.spec] != *req.MacAlgorithm {
		return nil, apiErr(http.StatusBadRequest, "InvalidKeyUsageException", fmt.Sprintf(
			"%s key usage is %s and key spec is %s, which does not support GenerateMac with %s", keyARN(k.id), k.usage, k.spec, *req.MacAlgorithm))
	}
	if aerr := stateError(k); aerr != nil {
		return nil, aerr
	}
	h := hmac.New(macHash(k.spec), k.secret)
	h.Write(req.Message)
	return &generateMacResponse{KeyId: keyARN(k.id), Mac: h.Sum(nil), MacAlgorithm: *req.MacAlgorithm}, nil
}

func macHash(spec string) func() hash.Hash {
	switch spec {
	case "HMAC_224":
		return sha256.New224
	case "HMAC_384":
		return sha512.New384
	case "HMAC_512":
		return sha512.New
	}
	return sha256.New
}

func (s *Server) generateDataKey(req *request) (any, *standin.Error) {
	if req.KeyID == nil || *req.KeyID == "" {
		return nil, validation("Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	n := 0
	switch {
	case req.KeySpec != nil && req.NumberOfBytes != nil:
		return nil, validation("Please specify either number of bytes or key spec.")
	case req.KeySpec != nil && *req.KeySpec == "AES_256":
		n = 32
	case req.KeySpec != nil && *req.KeySpec == "AES_128":
		n = 16
	case req.KeySpec != nil:
		return nil, validation(fmt.Sprintf("Value '%s' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]", *req.KeySpec))
	case req.NumberOfBytes != nil && *req.NumberOfBytes >= 1 && *req.NumberOfBytes <= 1024:
		n = *req.NumberOfBytes
	default:
		return nil, validation("Please specify either number of bytes or key spec.")
	}
	k, aerr := s.usableKey(*req.KeyID, "GenerateDataKey", req.EncryptionContext)
	if aerr != nil {
		return nil, aerr
	}
	plain := make([]byte, n)
	_, _ = rand.Read(plain)
	blob := make([]byte, headerSize, headerSize+n+tagSize)
	blob[0], blob[1] = 1, 2
	copy(blob[2:], k.uuid[:])
	copy(blob[18:], k.backing[:])
	_, _ = rand.Read(blob[aadSize:headerSize])
	blob = k.aead.Seal(blob, blob[aadSize:headerSize], plain, aad(blob[:aadSize], req.EncryptionContext))
	return &generateDataKeyResponse{CiphertextBlob: blob, KeyId: keyARN(k.id), Plaintext: plain}, nil
}

func (s *Server) decrypt(req *request) (any, *standin.Error) {
	if len(req.CiphertextBlob) == 0 || len(req.CiphertextBlob) > 6144 {
		return nil, validation("Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length between 1 and 6144")
	}
	if req.EncryptionAlgorithm != nil && *req.EncryptionAlgorithm != "SYMMETRIC_DEFAULT" {
		return nil, apiErr(http.StatusBadRequest, "InvalidCiphertextException", "")
	}
	blob := req.CiphertextBlob
	if len(blob) < headerSize+tagSize+1 || blob[0] != 1 || blob[1] != 2 {
		return nil, apiErr(http.StatusBadRequest, "InvalidCiphertextException", "")
	}
	k := s.keys[formatUUID([16]byte(blob[2:18]))]
	if k == nil || !bytes.Equal(blob[18:50], k.backing[:]) {
		return nil, apiErr(http.StatusBadRequest, "InvalidCiphertextException", "")
	}
	name := keyARN(k.id)
	if req.KeyID != nil {
		named, aerr := s.resolve(*req.KeyID)
		if aerr != nil {
			return nil, aerr
		}
		if named.spec != SpecSymmetric {
			return nil, apiErr(http.StatusBadRequest, "InvalidKeyUsageException", fmt.Sprintf(
				"%s key usage is %s and key spec is %s, which does not support Decrypt", keyARN(named.id), named.usage, named.spec))
		}
		if named != k {
			return nil, apiErr(http.StatusBadRequest, "IncorrectKeyException",
				"The key ID in the request does not identify a KMS key that can perform this operation.")
		}
		name = *req.KeyID
	}
	k, aerr := s.usableKey(name, "Decrypt", req.EncryptionContext)
	if aerr != nil {
		return nil, aerr
	}
	plain, err := k.aead.Open(nil, blob[aadSize:headerSize], blob[headerSize:], aad(blob[:aadSize], req.EncryptionContext))
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, "InvalidCiphertextException", "")
	}
	return &decryptResponse{KeyId: keyARN(k.id), Plaintext: plain, EncryptionAlgorithm: "SYMMETRIC_DEFAULT"}, nil
}

// usableKey resolves name and applies the key's state and the context
// condition, in KMS's order: existence, authorisation, state.
func (s *Server) usableKey(name, op string, ctx map[string]string) (*key, *standin.Error) {
	k, aerr := s.resolve(name)
	if aerr != nil {
		return nil, aerr
	}
	if k.spec != SpecSymmetric || k.usage != UsageEncrypt {
		return nil, apiErr(http.StatusBadRequest, "InvalidKeyUsageException", fmt.Sprintf(
			"%s key usage is %s and key spec is %s, which does not support %s", keyARN(k.id), k.usage, k.spec, op))
	}
	if s.required != nil && !maps.Equal(s.required, ctx) {
		return nil, apiErr(http.StatusBadRequest, "AccessDeniedException", fmt.Sprintf(
			"User: arn:aws:sts::%s:assumed-role/kmstest/fn is not authorized to perform: kms:%s on resource: %s because no resource-based policy allows the kms:%s action",
			Account, op, keyARN(k.id), op))
	}
	if aerr := stateError(k); aerr != nil {
		return nil, aerr
	}
	return k, nil
}

func stateError(k *key) *standin.Error {
	switch k.state {
	case Disabled:
		return apiErr(http.StatusBadRequest, "DisabledException", keyARN(k.id)+" is disabled.")
	case PendingDeletion:
		return apiErr(http.StatusBadRequest, "KMSInvalidStateException", keyARN(k.id)+" is pending deletion.")
	}
	return nil
}

func (s *Server) resolve(name string) (*key, *standin.Error) {
	id := name
	prefix := "arn:aws:kms:" + Region + ":" + Account + ":"
	switch {
	case strings.HasPrefix(name, prefix+"key/"):
		id = strings.TrimPrefix(name, prefix+"key/")
	case strings.HasPrefix(name, prefix+"alias/"):
		id = s.aliases[strings.TrimPrefix(name, prefix)]
	case strings.HasPrefix(name, "alias/"):
		id = s.aliases[name]
	}
	if k := s.keys[id]; k != nil {
		return k, nil
	}
	if strings.Contains(name, "alias/") {
		return nil, apiErr(http.StatusBadRequest, "NotFoundException", "Alias "+name+" is not found.")
	}
	return nil, apiErr(http.StatusBadRequest, "NotFoundException", "Key '"+name+"' does not exist")
}

func validation(msg string) *standin.Error { return standin.Validation(msg) }

func apiErr(status int, code, message string) *standin.Error {
	return &standin.Error{Status: status, Code: code, Message: message}
}

// locked runs an operation on the keys, under the server's lock.
func (s *Server) locked(op func(*request) (any, *standin.Error)) func(*standin.Request, *request) (any, error) {
	return func(_ *standin.Request, req *request) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		out, err := op(req)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// aad is the blob's header followed by the encryption context, sorted and
// length-prefixed so that no two contexts share an encoding.
func aad(header []byte, ctx map[string]string) []byte {
	out := slices.Clone(header)
	for _, k := range slices.Sorted(maps.Keys(ctx)) {
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
		out = binary.AppendUvarint(out, uint64(len(ctx[k])))
		out = append(out, ctx[k]...)
	}
	return out
}

func keyARN(id string) string {
	return "arn:aws:kms:" + Region + ":" + Account + ":key/" + id
}

func formatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
