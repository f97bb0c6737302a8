"""Read-only queries for reports and checks; they never write."""
