// Package token issues and verifies Podium access tokens: HS256 JWTs
// (RFC 7519, algorithm from RFC 7518 section 3.2) carrying the room, the
// participant's identity, display name and role.
package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/podiumhq/podium/signaling/protocol"
)

// Claims are the token's payload. The identity is the JWT subject.
type Claims struct {
	Room string        `json:"room"`
	Name string        `json:"name"`
	Role protocol.Role `json:"role"`
	jwt.RegisteredClaims
}

// Identity returns the participant identity (the subject).
func (c *Claims) Identity() string { return c.Subject }

// ErrExpired is returned (wrapped) by Verify for a token past its expiry.
var ErrExpired = errors.New("token expired")

// Issuer signs tokens with a shared secret.
type Issuer struct {
	Secret []byte
}

// Issue signs a token for identity in room, valid for ttl from now.
func (is Issuer) Issue(room, identity, name string, role protocol.Role, ttl time.Duration) (string, error) {
	if len(is.Secret) < 16 {
		return "", errors.New("token: secret must be at least 16 bytes")
	}
	if room == "" || identity == "" {
		return "", errors.New("token: room and identity are required")
	}
	if !role.Valid() {
		return "", fmt.Errorf("token: invalid role %q", role)
	}
	now := time.Now()
	c := Claims{
		Room: room, Name: name, Role: role,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   identity,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-30 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			Issuer:    "podiumd",
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(is.Secret)
}

// Verify checks the signature (HS256 only), the expiry and the claims, and
// returns them. Errors wrap ErrExpired for an expired token.
func (is Issuer) Verify(tok string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return is.Secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Second))
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, fmt.Errorf("%w: %v", ErrExpired, err)
		}
		return nil, fmt.Errorf("token: %w", err)
	}
	if c.Room == "" || c.Subject == "" {
		return nil, errors.New("token: room and subject claims are required")
	}
	if !c.Role.Valid() {
		return nil, fmt.Errorf("token: invalid role %q", c.Role)
	}
	return &c, nil
}
