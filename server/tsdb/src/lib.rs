//! Vitrine embedded time-series store.
