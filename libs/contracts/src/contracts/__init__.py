"""Every type and subject that crosses a process boundary. No I/O."""
