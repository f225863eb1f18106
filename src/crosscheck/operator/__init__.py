"""Operator commands over HTTP: the status of the queues, enqueue and dequeue."""
