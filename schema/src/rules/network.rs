//! Network rules: IPv4 CIDR blocks (syntax, prefix lengths AWS accepts for a VPC and a subnet),
//! a subnet inside its VPC, subnets that overlap, availability zones of the stack's region.

use super::{Rule, Violation};

/// An IPv4 CIDR block: the network address and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: u32,
    pub bits: u8,
}

impl Cidr {
    /// The first address after the block (as u64, so the top block does not overflow).
    fn end(self) -> u64 {
        self.addr as u64 + (1u64 << (32 - self.bits as u32))
    }

    /// Whether `inner` lies wholly inside this block.
    pub fn contains(self, inner: Cidr) -> bool {
        inner.bits >= self.bits
            && inner.addr as u64 >= self.addr as u64
            && inner.end() <= self.end()
    }

    /// Whether the two blocks share an address.
    pub fn overlaps(self, other: Cidr) -> bool {
        (self.addr as u64) < other.end() && (other.addr as u64) < self.end()
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.addr.to_be_bytes();
        write!(f, "{}.{}.{}.{}/{}", b[0], b[1], b[2], b[3], self.bits)
    }
}

const EXPECTED: &str = "an IPv4 CIDR block `a.b.c.d/n` such as `10.0.0.0/16`";

/// `a.b.c.d/n` with four decimal octets 0–255, a prefix length 0–32 and no host bits set.
pub fn cidr(s: &str) -> Rule<Cidr> {
    let bad = |reason: String| Violation::new(reason, EXPECTED);
    let Some((ip, bits)) = s.split_once('/') else {
        return Err(bad("it has no `/` prefix length".into()).hint(format!("e.g. `{s}/16`")));
    };
    let octets: Vec<&str> = ip.split('.').collect();
    if octets.len() != 4 {
        return Err(bad(format!(
            "the address `{ip}` has {} parts, not 4",
            octets.len()
        )));
    }
    let mut b = [0u8; 4];
    for (i, o) in octets.iter().enumerate() {
        let digits = !o.is_empty() && o.len() <= 3 && o.chars().all(|c| c.is_ascii_digit());
        match o.parse::<u16>() {
            Ok(n) if digits && n <= 255 => b[i] = n as u8,
            _ => return Err(bad(format!("`{o}` is not a number from 0 to 255"))),
        }
    }
    let digits = !bits.is_empty() && bits.len() <= 2 && bits.chars().all(|c| c.is_ascii_digit());
    let bits: u8 = match bits.parse() {
        Ok(n) if digits && n <= 32 => n,
        Ok(n) if digits => return Err(bad(format!("the prefix length /{n} is above 32"))),
        _ => {
            return Err(bad(format!(
                "the prefix length `/{bits}` is not a number from 0 to 32"
            )))
        }
    };
    let addr = u32::from_be_bytes(b);
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    if addr & mask != addr {
        let net = Cidr {
            addr: addr & mask,
            bits,
        };
        return Err(bad(format!("it has host bits set after /{bits}"))
            .hint(format!("the block that contains it is `{net}`")));
    }
    Ok(Cidr { addr, bits })
}

/// A block with a prefix length in `min..=max`, e.g. a VPC (AWS: /16 to /28).
pub fn cidr_sized(s: &str, min: u8, max: u8, what: &str) -> Rule<Cidr> {
    let c = cidr(s)?;
    if !(min..=max).contains(&c.bits) {
        return Err(Violation::new(
            format!(
                "a {what} needs a prefix length from /{min} to /{max}, not /{}",
                c.bits
            ),
            format!(
                "a block from /{min} to /{max} such as `10.0.0.0/{}`",
                min.max(16)
            ),
        ));
    }
    Ok(c)
}

/// An AWS VPC block: /16 to /28.
pub fn vpc_cidr(s: &str) -> Rule<Cidr> {
    cidr_sized(s, 16, 28, "VPC")
}

/// An AWS subnet block: /16 to /28.
pub fn subnet_cidr(s: &str) -> Rule<Cidr> {
    cidr_sized(s, 16, 28, "subnet")
}

/// `subnet` lies inside `vpc`.
pub fn within(subnet: Cidr, vpc: Cidr) -> Rule {
    if vpc.contains(subnet) {
        return Ok(());
    }
    Err(Violation::new(
        format!("`{subnet}` is not inside the VPC's block `{vpc}`"),
        format!("a block inside `{vpc}`"),
    )
    .hint("a subnet's block must be part of its VPC's block"))
}

/// `a` and `b` (two subnets of one VPC) share no address.
pub fn disjoint(a: Cidr, b: Cidr, other: &str) -> Rule {
    if !a.overlaps(b) {
        return Ok(());
    }
    Err(Violation::new(
        format!("`{a}` overlaps `{b}` of {other}"),
        "subnet blocks that share no address",
    ))
}

/// An availability zone of `region`: the region's name plus one letter (`us-east-1a`), or a
/// Local/Wavelength zone of it (`us-east-1-bos-1a`).
pub fn availability_zone(az: &str, region: &str) -> Rule {
    let expected = format!("a zone of `{region}` such as `{region}a`");
    let Some(rest) = az.strip_prefix(region) else {
        let hint = match az_region(az) {
            Some(r) => format!("`{az}` is in `{r}`; the stack's `region` is `{region}`"),
            None => format!("zones of `{region}` are named `{region}a`, `{region}b`, …"),
        };
        return Err(Violation::new(
            format!("it is not a zone of the stack's region `{region}`"),
            expected,
        )
        .hint(hint));
    };
    let letter = |t: &str| t.len() == 1 && t.chars().all(|c| c.is_ascii_lowercase());
    let local = rest.strip_prefix('-').is_some_and(|t| {
        t.len() >= 3
            && t.ends_with(|c: char| c.is_ascii_lowercase())
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    if letter(rest) || local {
        return Ok(());
    }
    Err(Violation::new(
        "it is not a zone name (the region followed by a letter)",
        expected,
    ))
}

/// The region an AZ name belongs to, when it looks like one (`eu-west-1b` → `eu-west-1`).
fn az_region(az: &str) -> Option<&str> {
    let region = az.strip_suffix(|c: char| c.is_ascii_lowercase())?;
    crate::config::valid_region(region).then_some(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        cidr(s).unwrap()
    }

    #[test]
    fn cidr_syntax() {
        assert_eq!(c("10.20.0.0/16").to_string(), "10.20.0.0/16");
        assert_eq!(c("0.0.0.0/0").bits, 0);
        assert_eq!(c("10.0.0.1/32").bits, 32);
        for (bad, reason) in [
            ("10.0.0.0/33", "the prefix length /33 is above 32"),
            ("10.0.0.0", "it has no `/` prefix length"),
            ("10.0.0/16", "the address `10.0.0` has 3 parts, not 4"),
            ("10.0.0.256/16", "`256` is not a number from 0 to 255"),
            ("10.0.0.-1/16", "`-1` is not a number from 0 to 255"),
            (
                "10.0.0.0/x",
                "the prefix length `/x` is not a number from 0 to 32",
            ),
            (
                "10.0.0.0/",
                "the prefix length `/` is not a number from 0 to 32",
            ),
            (
                "10.0.0.0/+8",
                "the prefix length `/+8` is not a number from 0 to 32",
            ),
            ("10.0.0.1/16", "it has host bits set after /16"),
            ("", "it has no `/` prefix length"),
        ] {
            assert_eq!(cidr(bad).unwrap_err().reason, reason, "{bad}");
        }
        assert_eq!(
            cidr("10.0.0.1/16").unwrap_err().hint.as_deref(),
            Some("the block that contains it is `10.0.0.0/16`")
        );
    }

    #[test]
    fn vpc_sizes() {
        assert!(vpc_cidr("10.0.0.0/16").is_ok());
        assert!(vpc_cidr("10.0.0.0/28").is_ok());
        let e = vpc_cidr("10.0.0.0/8").unwrap_err();
        assert_eq!(
            e.reason,
            "a VPC needs a prefix length from /16 to /28, not /8"
        );
        assert!(vpc_cidr("10.0.0.0/29").is_err());
        assert!(cidr_sized("10.0.0.0/25", 16, 24, "blueprint VPC").is_err());
    }

    #[test]
    fn containment_and_overlap() {
        let vpc = c("10.0.0.0/16");
        assert!(within(c("10.0.1.0/24"), vpc).is_ok());
        assert!(within(c("10.0.0.0/16"), vpc).is_ok());
        let e = within(c("10.1.0.0/24"), vpc).unwrap_err();
        assert_eq!(
            e.reason,
            "`10.1.0.0/24` is not inside the VPC's block `10.0.0.0/16`"
        );
        assert!(within(c("10.0.0.0/15"), vpc).is_err());
        assert!(within(c("255.255.255.0/24"), c("255.255.0.0/16")).is_ok());
        assert!(disjoint(c("10.0.0.0/24"), c("10.0.1.0/24"), "b").is_ok());
        assert_eq!(
            disjoint(c("10.0.0.0/23"), c("10.0.1.0/24"), "`b`")
                .unwrap_err()
                .reason,
            "`10.0.0.0/23` overlaps `10.0.1.0/24` of `b`"
        );
        assert!(c("0.0.0.0/0").overlaps(c("255.255.255.255/32")));
    }

    #[test]
    fn zones_of_the_region() {
        assert!(availability_zone("us-east-1a", "us-east-1").is_ok());
        assert!(availability_zone("us-west-2-lax-1a", "us-west-2").is_ok());
        let e = availability_zone("eu-west-1a", "us-east-1").unwrap_err();
        assert_eq!(
            e.reason,
            "it is not a zone of the stack's region `us-east-1`"
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("`eu-west-1a` is in `eu-west-1`; the stack's `region` is `us-east-1`")
        );
        assert!(availability_zone("us-east-1", "us-east-1").is_err());
        assert!(availability_zone("us-east-1A", "us-east-1").is_err());
        assert!(availability_zone("us-east-11", "us-east-1").is_err());
        assert!(availability_zone("us-east-1ab", "us-east-1").is_err());
    }
}
