//! Files in and out of the page (placeholder until downloads and drops land).
