"""A stand-in for User Interviews (shared/UI_API.md): its own models, URLs and simulation."""
