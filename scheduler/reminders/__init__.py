"""Reminder mail: planner (rules → wanted rows), outbox, rendering, SMTP transport, dispatcher, replay."""
