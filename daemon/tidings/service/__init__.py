"""Account operations shared by the gRPC API and the web pages (onboarding, grants)."""
