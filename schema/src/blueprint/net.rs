//! Subnet arithmetic for the blueprint: the VPC block split into /+4 blocks, public subnets
//! from the bottom, private ones from the middle (as the HelioCloud CDK stack lays them out).

/// `a.b.c.d/n` → (address as u32, n).
pub(crate) fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (ip, bits) = s.split_once('/')?;
    let bits: u8 = bits.parse().ok()?;
    let parts: Vec<u8> = ip
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if parts.len() != 4 || bits > 32 {
        return None;
    }
    let addr = u32::from_be_bytes([parts[0], parts[1], parts[2], parts[3]]);
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    (addr & mask == addr).then_some((addr, bits))
}

fn show(addr: u32, bits: u8) -> String {
    let b = addr.to_be_bytes();
    format!("{}.{}.{}.{}/{bits}", b[0], b[1], b[2], b[3])
}

/// The `i`-th public and private subnet blocks of `vpc` (i < 8).
pub(crate) fn subnets(vpc: &str, i: usize) -> (String, String) {
    let (base, bits) = parse_cidr(vpc).unwrap_or((0x0a00_0000, 16));
    let sub = bits + 4;
    let size = 1u32 << (32 - sub);
    (
        show(base + size * i as u32, sub),
        show(base + size * (8 + i as u32), sub),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_splits_into_twenties() {
        assert_eq!(
            subnets("10.20.0.0/16", 0),
            ("10.20.0.0/20".into(), "10.20.128.0/20".into())
        );
        assert_eq!(
            subnets("10.20.0.0/16", 1),
            ("10.20.16.0/20".into(), "10.20.144.0/20".into())
        );
        assert_eq!(parse_cidr("10.20.0.1/16"), None);
    }
}
