"""What is checked: `variant` loads a TARGET and reads what it declares it supports."""
