"""Worker sign-in with the electronic social security card (e-SSC), an OpenID Connect provider:
the relying party, and the built-in simulator for development and the demo."""
