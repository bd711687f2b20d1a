"""The back office's own pages and rules: staff roles, CSV import and export for merchandisers, and
analytics for managers. Each app's admin pages live in that app."""
