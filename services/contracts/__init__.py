"""The customer and contract model: rules, names, the service the CLI and the API share,
reminders, the iCalendar feed, e-mail and the legacy import."""
