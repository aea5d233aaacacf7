//! More security plugins' lockouts (Defender, WP Cerber, Shield Security), each a fixture built
//! from the plugin's source: diagnosed, unlocked over SFTP and FTP for the locked address only
//! (the other locked address stays out), and rolled back exactly.
