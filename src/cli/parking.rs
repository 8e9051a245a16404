//! `parking show [lot]`, as Asterisk 12+'s `res/parking/parking_ui.c` prints it: every lot's
//! settings, or one lot's settings and its parked calls. `parkedcalls show`, the 1.8–11 name,
//! is answered the same way.

use super::{Answer, View};
use crate::config::parking_conf::ParkingLot;
use std::fmt::Write;

fn lot_text(out: &mut String, lot: &ParkingLot) {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let _ = write!(
        out,
        "Parking Lot: {}\n--------------------------------------------------------------------------\n",
        lot.name
    );
    let ext = lot.parkext.as_ref().map_or("", |(e, _)| e.as_str());
    let _ = writeln!(out, "Parking Extension   :  {ext}");
    let _ = writeln!(out, "Parking Context     :  {}", lot.context);
    let (lo, hi) = lot.positions;
    let _ = writeln!(out, "Parking Spaces      :  {lo}-{hi}");
    let _ = writeln!(
        out,
        "Parking Time        :  {} sec",
        lot.parking_time.as_secs()
    );
    let _ = writeln!(
        out,
        "Comeback to Origin  :  {}",
        yes(lot.comeback_to_origin)
    );
    let unused = if lot.comeback_to_origin {
        " (comebacktoorigin=yes, not used)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "Comeback Context    :  {}{unused}",
        lot.comeback_context
    );
    let _ = writeln!(
        out,
        "Comeback Dial Time  :  {} sec",
        lot.comeback_dial_time.as_secs()
    );
    let _ = writeln!(out, "MusicOnHold Class   :  {}", lot.music_class);
    let _ = writeln!(out, "Enabled             :  yes");
    let _ = writeln!(out, "Dynamic             :  no");
    out.push('\n');
}

/// `parking show [lot]`.
pub(super) fn show(view: &View<'_>, args: &[&str]) -> Answer {
    let mut out = String::from("\n");
    match args {
        [] => {
            out.push_str("Parking General Options\n-----------------------\n");
            out.push_str("Dynamic Parking     :  no\n\n");
            for lot in &view.parking.lots {
                lot_text(&mut out, lot);
            }
            out.push('\n');
        }
        [name] => {
            let Some(lot) = view.parking.lot(name) else {
                return Answer::text(format!("\nCould not find parking lot '{name}'\n\n"));
            };
            lot_text(&mut out, lot);
            out.push_str("Parked Calls\n------------\n");
            let key = lot.name.to_ascii_lowercase();
            let mut any = false;
            for p in view.parked.iter().filter(|p| p.lot == key) {
                any = true;
                let _ = writeln!(out, "  Space               :  {}", p.slot);
                let _ = writeln!(out, "  Channel             :  {}", p.channel);
                let _ = writeln!(out, "  Parker Dial String  :  {}", p.parker);
                out.push('\n');
            }
            if any {
                out.push('\n');
            } else {
                out.push_str("  (none)\n\n\n");
            }
        }
        _ => return Answer::usage("parking show"),
    }
    Answer::text(out)
}
