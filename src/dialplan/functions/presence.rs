//! `DEVICE_STATE(SIP/name)` and `EXTENSION_STATE(exten[@context])` (Asterisk's
//! `funcs/func_devicestate.c`, `funcs/func_extstate.c`): the engine's view of its devices
//! (their calls, registrations and qualify results) and of hints aggregated from them.

use super::Ctx;

pub(crate) fn read(cx: &mut Ctx<'_>, name: &str, args: &str) -> Result<String, String> {
    let args = args.trim();
    if args.is_empty() {
        return Err("an argument is required".into());
    }
    if name == "DEVICE_STATE" {
        return Ok(cx.dp.device_state(args).name().to_string());
    }
    let (exten, context) = match args.split_once('@') {
        Some((e, c)) => (e.trim().to_string(), c.trim().to_string()),
        None => (args.to_string(), cx.ex.context.to_string()),
    };
    // func_extstate: no hint is UNKNOWN.
    Ok(cx
        .dp
        .extension_state(&context, &exten)
        .map_or("UNKNOWN", |s| s.name())
        .to_string())
}
