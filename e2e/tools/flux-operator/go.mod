// Pins the Flux Operator module and the authn/kubernetes pseudo-version e2e/build.sh builds it
// with (the one the operator requires is refused by the Go module proxy). Not built itself.
module local/e2e/flux-operator

go 1.26.8

require (
	github.com/controlplaneio-fluxcd/flux-operator v0.58.1
	github.com/google/go-containerregistry/pkg/authn/kubernetes v0.0.0-20260224031529-85f2bf5f7303
)
