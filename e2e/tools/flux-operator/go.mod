module local/e2e/flux-operator

go 1.26.8

require github.com/controlplaneio-fluxcd/flux-operator v0.58.1
