"""The ground floor every app stands on: the domain error hierarchy and the API's one error shape,
the staff API permission, money arithmetic and the read-only admin inline. It imports no project app."""
