"""The User Interviews adapter: the only code in Rally that builds UI URLs or reads UI JSON.

`client.UIClient` speaks the contract of UI_API.md, `resources` parses its documents
strictly into frozen dataclasses, and `errors` is the small hierarchy callers branch on.
"""
