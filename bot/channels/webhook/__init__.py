"""The group robot webhook: notices into the support group (no inbound)."""
