"""What runs in Lambda: the entry points (from the table), the step wrapper, the event-source handlers."""
