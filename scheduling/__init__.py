"""Time with people: availability, slots, sessions, bookings and the booking page."""
