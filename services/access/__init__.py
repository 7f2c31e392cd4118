"""Users, credentials, restrictions and the tamper-evident access log."""
